"""The dashboard's overview and the product sections that are still to come."""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.http import Http404
from django.urls import reverse

from accounts import selectors
from accounts.roles import Perm
from accounts.views import dashboard_view, render_page
from builder.models import Site
from crm.models import Contact

RECENT_EVENTS = 6


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    description: str
    plans: tuple[str, ...]


SECTIONS = {
    section.slug: section
    for section in (
        Section(
            "analytics",
            "Analytics",
            "Traffic, conversions and campaign results across all your sites, in one place.",
            ("Privacy-friendly visitor stats", "Funnels from first visit to customer", "Campaign attribution"),
        ),
    )
}


@dataclass(frozen=True)
class ChecklistItem:
    title: str
    description: str
    done: bool
    url: str | None = None
    action: str = ""


def _checklist(
    request,
    access,
    *,
    member_count: int,
    pending_invitations: int,
    api_key_count: int,
    has_site: bool,
    has_contact: bool,
):
    """The getting-started steps; a step this role can't take is listed without a link."""

    def link(perm: Perm, name: str) -> str | None:
        return reverse(name) if access.can(perm) else None

    verified = EmailAddress.objects.filter(user=request.user, verified=True).exists()
    return [
        ChecklistItem("Create your workspace", f"{access.workspace.name} is ready for your team.", done=True),
        ChecklistItem(
            "Verify your email address",
            "So invitations, password resets and reports reach you.",
            done=verified,
            url=reverse("account_email"),
            action="Manage email",
        ),
        ChecklistItem(
            "Invite your team",
            "Editors build pages and campaigns; viewers follow along.",
            done=member_count > 1 or pending_invitations > 0,
            url=link(Perm.MANAGE_MEMBERS, "dashboard:settings-members"),
            action="Invite people",
        ),
        ChecklistItem(
            "Connect an integration",
            "Create an API key for your CRM, Zapier or your own code.",
            done=api_key_count > 0,
            url=link(Perm.MANAGE_API_KEYS, "dashboard:settings-api-keys"),
            action="Create an API key",
        ),
        ChecklistItem(
            "Build your first site",
            "Start from a template, then make it yours in the drag-and-drop editor.",
            done=has_site,
            url=link(Perm.WRITE_CONTENT, "dashboard:sites-new"),
            action="Browse templates",
        ),
        ChecklistItem(
            "Collect your first contact",
            "Contacts arrive from your sites' forms, a CSV import or the API.",
            done=has_contact,
            url=link(Perm.READ, "dashboard:contacts"),
            action="Open contacts",
        ),
    ]


@dashboard_view(Perm.READ)
def home(request, access):
    workspace = access.workspace
    member_count = selectors.member_list(workspace=workspace).count()
    pending_invitations = selectors.invitation_list(workspace=workspace).pending().count()
    api_key_count = selectors.api_key_list(workspace=workspace).active().count()
    checklist = _checklist(
        request,
        access,
        member_count=member_count,
        pending_invitations=pending_invitations,
        api_key_count=api_key_count,
        has_site=Site.objects.for_workspace(workspace).exists(),
        has_contact=Contact.objects.for_workspace(workspace).exists(),
    )
    recent_events = None
    if access.can(Perm.READ_AUDIT_LOG):
        recent_events = list(selectors.audit_event_list(workspace=workspace)[:RECENT_EVENTS])
    context = {
        "member_count": member_count,
        "pending_invitations": pending_invitations,
        "api_key_count": api_key_count,
        "checklist": checklist,
        "checklist_done": sum(item.done for item in checklist),
        "recent_events": recent_events,
        "sections": SECTIONS.values(),
    }
    return render_page(request, access, "dashboard/home.html", context)


@dashboard_view(Perm.READ)
def section(request, access, section: str):
    if section not in SECTIONS:
        raise Http404("No such section.")
    return render_page(request, access, "dashboard/section.html", {"section": SECTIONS[section]})
