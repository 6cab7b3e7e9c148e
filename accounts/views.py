"""The dashboard's workspace, team, API key and audit log pages.

Reads go through accounts.selectors, writes through accounts.services. Objects are always looked up
within the current workspace, so another workspace's ids are a 404; a role that may not do
something gets a 403.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import (
    ApiKeyForm,
    AuditLogFilterForm,
    InvitationForm,
    ServiceForm,
    WorkspaceForm,
    grantable_role_choices,
)
from accounts.middleware import SESSION_KEY
from accounts.models import Workspace, normalize_email
from accounts.roles import Perm
from accounts.selectors import WorkspaceAccess
from core.request_context import client_ip

PAGE_SIZE = 25


# --- Shared by every dashboard page ----------------------------------------------------------------


def dashboard_view(perm: Perm = Perm.READ):
    """Decorates a page that works in the current workspace: signed in, a member, allowed `perm`.

    The view is called as view(request, access, ...) and runs with the workspace's time zone
    active, so dates render, and date filters compare, in the workspace's local time.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            access = request.workspace_access
            if not access:
                return redirect("dashboard:workspace-new")
            require(access, perm)
            with timezone.override(access.workspace.timezone):
                return view(request, access, *args, **kwargs)

        return wrapper

    return decorator


def require(access: WorkspaceAccess, perm: Perm) -> None:
    if not access.can(perm):
        raise PermissionDenied


def render_page(
    request: HttpRequest, access: WorkspaceAccess, template: str, context: dict | None = None, status: int = 200
) -> HttpResponse:
    """render() plus `can`, the current role's permissions by name ({% if can.MANAGE_MEMBERS %})."""
    can = {perm.name: access.can(perm) for perm in Perm}
    return render(request, template, {"can": can, "role": access.role, **(context or {})}, status=status)


#: Longer search text is cut: nobody types more, and every character is a LIKE pattern's cost.
SEARCH_MAX = 200


def search_text(request: HttpRequest, param: str = "q") -> str:
    """A list page's search box: trimmed, cut to SEARCH_MAX, without the NUL characters PostgreSQL
    refuses in a query (typed or pasted, they would fail the page)."""
    return request.GET.get(param, "").replace("\x00", "").strip()[:SEARCH_MAX]


def paginate(request: HttpRequest, queryset, param: str = "page") -> Page:
    """A page of `queryset`, with previous_url/next_url that keep the rest of the query string."""
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get(param))
    query = request.GET.copy()

    def url_for(number: int) -> str:
        query[param] = number
        return "?" + query.urlencode()

    page.previous_url = url_for(page.previous_page_number()) if page.has_previous() else None
    page.next_url = url_for(page.next_page_number()) if page.has_next() else None
    return page


def submit(form: ServiceForm, action: Callable[[dict], object]):
    """Run a service call with a valid form's data. Returns its result, or None when the form or
    the service rejected the input, in which case the reasons are on the form."""
    if not form.is_valid():
        return None
    try:
        return action(form.cleaned_data)
    except ValidationError as exc:
        form.add_service_error(exc)
        return None


def run_action(request: HttpRequest, action: Callable[[], object], success: str) -> bool:
    """Run a form-less service call (revoke, remove); its outcome becomes a flash message."""
    try:
        action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return False
    messages.success(request, success)
    return True


def _switch_to(request: HttpRequest, workspace: Workspace) -> None:
    request.session[SESSION_KEY] = workspace.pk
    services.user_default_workspace_set(user=request.user, workspace=workspace)


# --- Settings: general -----------------------------------------------------------------------------


@dashboard_view(Perm.READ)
@require_http_methods(["GET", "POST"])
def settings_general(request, access):
    workspace = access.workspace
    initial = {"name": workspace.name, "timezone": workspace.timezone}
    if request.method == "POST":
        require(access, Perm.MANAGE_SETTINGS)
        form = WorkspaceForm(request.POST, initial=initial)
        updated = submit(
            form,
            lambda data: services.workspace_update(
                workspace=workspace,
                actor=request.user,
                ip=client_ip(request),
                name=data["name"],
                timezone_name=data["timezone"],
            ),
        )
        if updated is not None:
            messages.success(request, "Workspace settings saved.")
            return redirect("dashboard:settings")
    else:
        form = WorkspaceForm(initial=initial)
    if not access.can(Perm.MANAGE_SETTINGS):
        for field in form.fields.values():
            field.disabled = True
    return render_page(request, access, "dashboard/settings/general.html", {"form": form, "tab": "general"})


# --- Settings: members and invitations -------------------------------------------------------------


def _members_page(request, access: WorkspaceAccess, invite_form: InvitationForm | None = None, status: int = 200):
    workspace = access.workspace
    can_manage = access.can(Perm.MANAGE_MEMBERS)
    context = {
        "tab": "members",
        "members": paginate(request, selectors.member_list(workspace=workspace)),
        "invitations": paginate(request, selectors.invitation_list(workspace=workspace).pending(), "invitations_page"),
        "role_choices": grantable_role_choices(access.role),
        "invite_form": invite_form or (InvitationForm(actor_role=access.role) if can_manage else None),
    }
    return render_page(request, access, "dashboard/settings/members.html", context, status=status)


@dashboard_view(Perm.READ)
@require_http_methods(["GET"])
def settings_members(request, access):
    return _members_page(request, access)


@dashboard_view(Perm.MANAGE_MEMBERS)
@require_POST
def member_role(request, access, pk: int):
    membership = get_object_or_404(selectors.member_list(workspace=access.workspace), pk=pk)
    role = request.POST.get("role", "")
    try:
        services.member_role_change(
            membership=membership, role=role, actor=request.user, actor_role=access.role, ip=client_ip(request)
        )
    except ValidationError as exc:
        error = " ".join(exc.messages)
    else:
        error = None

    if request.htmx:
        # The select posts on change; only its row is swapped, with the outcome beside it.
        context = {"membership": membership, "role_choices": grantable_role_choices(access.role), "row_error": error}
        context["row_saved"] = error is None
        return render_page(request, access, "dashboard/settings/_member_row.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{membership.user.email} is now {membership.get_role_display().lower()}.")
    return redirect("dashboard:settings-members")


@dashboard_view(Perm.MANAGE_MEMBERS)
@require_POST
def member_remove(request, access, pk: int):
    membership = get_object_or_404(selectors.member_list(workspace=access.workspace), pk=pk)
    run_action(
        request,
        lambda: services.member_remove(membership=membership, actor=request.user, ip=client_ip(request)),
        f"{membership.user.email} was removed from {access.workspace.name}.",
    )
    return redirect("dashboard:settings-members")


@dashboard_view(Perm.MANAGE_MEMBERS)
@require_POST
def invitation_create(request, access):
    form = InvitationForm(request.POST, actor_role=access.role)
    created = submit(
        form,
        lambda data: services.invitation_create(
            workspace=access.workspace,
            email=data["email"],
            role=data["role"],
            actor=request.user,
            actor_role=access.role,
            ip=client_ip(request),
        ),
    )
    if created is None:
        return _members_page(request, access, invite_form=form)
    invitation, token = created
    messages.success(request, f"Invitation sent to {invitation.email}.")
    # Only a hash is stored, so this is the one chance to see the link (e.g. when email is slow).
    accept_url = request.build_absolute_uri(reverse("dashboard:invitation-accept", args=[token]))
    messages.info(request, accept_url, extra_tags="copy")
    return redirect("dashboard:settings-members")


@dashboard_view(Perm.MANAGE_MEMBERS)
@require_POST
def invitation_revoke(request, access, pk: int):
    invitation = get_object_or_404(selectors.invitation_list(workspace=access.workspace), pk=pk)
    run_action(
        request,
        lambda: services.invitation_revoke(invitation=invitation, actor=request.user, ip=client_ip(request)),
        f"The invitation to {invitation.email} was revoked.",
    )
    return redirect("dashboard:settings-members")


# --- Settings: API keys ----------------------------------------------------------------------------


@dashboard_view(Perm.MANAGE_API_KEYS)
@require_http_methods(["GET", "POST"])
def settings_api_keys(request, access):
    new_key = None
    if request.method == "POST":
        form = ApiKeyForm(request.POST, actor_role=access.role)
        created = submit(
            form,
            lambda data: services.api_key_create(
                workspace=access.workspace,
                name=data["name"],
                role=data["role"],
                actor=request.user,
                actor_role=access.role,
                ip=client_ip(request),
            ),
        )
        if created is not None:
            # Rendered straight into this response rather than redirected through the session:
            # the key is never stored anywhere in the clear, and this is the only time it is seen.
            api_key, new_key = created
            messages.success(request, f"API key “{api_key.name}” created.")
            form = ApiKeyForm(actor_role=access.role)
    else:
        form = ApiKeyForm(actor_role=access.role)
    context = {
        "tab": "api_keys",
        "form": form,
        "new_key": new_key,
        "api_keys": paginate(request, selectors.api_key_list(workspace=access.workspace)),
    }
    return render_page(request, access, "dashboard/settings/api_keys.html", context)


@dashboard_view(Perm.MANAGE_API_KEYS)
@require_POST
def api_key_revoke(request, access, pk: int):
    api_key = get_object_or_404(selectors.api_key_list(workspace=access.workspace), pk=pk)
    run_action(
        request,
        lambda: services.api_key_revoke(api_key=api_key, actor=request.user, ip=client_ip(request)),
        f"API key “{api_key.name}” was revoked; requests using it now fail.",
    )
    return redirect("dashboard:settings-api-keys")


# --- Settings: audit log ---------------------------------------------------------------------------


def describe_changes(changes: dict) -> list[str]:
    """One line per changed field: `role: viewer → editor`, or `email: a@b.c` for a plain value."""
    lines = []
    for key, value in (changes or {}).items():
        label = key.replace("_", " ")
        if isinstance(value, list) and len(value) == 2:
            old, new = ("—" if item is None else item for item in value)
            lines.append(f"{label}: {old} → {new}")
        else:
            lines.append(f"{label}: {value}")
    return lines


@dashboard_view(Perm.READ_AUDIT_LOG)
@require_http_methods(["GET"])
def settings_audit_log(request, access):
    form = AuditLogFilterForm(request.GET)
    events = paginate(request, form.filter(selectors.audit_event_list(workspace=access.workspace)))
    for event in events:
        event.change_lines = describe_changes(event.changes)
    context = {"tab": "audit_log", "form": form, "events": events}
    return render_page(request, access, "dashboard/settings/audit_log.html", context)


# --- Workspaces ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def workspace_new(request):
    if request.method == "POST":
        form = WorkspaceForm(request.POST)
        workspace = submit(
            form,
            lambda data: services.workspace_create(
                owner=request.user, name=data["name"], timezone_name=data["timezone"], ip=client_ip(request)
            ),
        )
        if workspace is not None:
            _switch_to(request, workspace)
            messages.success(request, f"Welcome to {workspace.name}. You're its owner.")
            return redirect("dashboard:home")
    else:
        form = WorkspaceForm()
    has_workspace = selectors.user_memberships(user=request.user).exists()
    return render(request, "dashboard/workspace_new.html", {"form": form, "has_workspace": has_workspace})


@login_required
@require_POST
def workspace_switch(request, pk: int):
    membership = get_object_or_404(selectors.user_memberships(user=request.user), workspace_id=pk)
    _switch_to(request, membership.workspace)
    return redirect("dashboard:home")


# --- Invitations -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    invitation = selectors.invitation_by_token(token=token)
    error = None
    if request.method == "POST" and invitation is not None:
        try:
            membership = services.invitation_accept(token=token, user=request.user, ip=client_ip(request))
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            _switch_to(request, membership.workspace)
            messages.success(request, f"You've joined {membership.workspace.name}.")
            return redirect("dashboard:home")
    context = {
        "invitation": invitation,
        "error": error,
        "email_matches": invitation is not None
        and normalize_email(invitation.email) == normalize_email(request.user.email),
    }
    return render(request, "dashboard/invitation_accept.html", context, status=404 if invitation is None else 200)
