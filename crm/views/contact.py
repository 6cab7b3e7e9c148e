"""One contact's page: profile and its edit form, tags, custom fields, the timeline, notes and consent."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import Perm
from accounts.views import dashboard_view, paginate, render_page, require, run_action, submit
from core.request_context import client_ip
from crm.forms import ContactCreateForm, ContactForm, NoteForm, ScoreAdjustForm
from crm.models import Contact, ContactSource, CustomFieldType, Tag
from crm.selectors import dashboard as selectors
from crm.selectors.scoring import contact_score_explain
from crm.services.contacts import contact_note_add, contact_update
from crm.services.gdpr import contact_data_export, contact_erase
from crm.services.manual import contact_create
from crm.services.scoring import score_adjust
from crm.services.tags import contact_tags_add, contact_tags_remove, tags_resolve
from crm.views import workspace_object_or_404
from crm.views.timeline import timeline_entry

TIMELINE_PARAM = "timeline"
CONSENTS_SHOWN = 20
SCORE_CHANGES_SHOWN = 5
#: Timeline filters: a label and the activity kinds it shows.
TIMELINE_FILTERS = {
    "forms": ("Forms and visits", ("form_submitted", "page_visited")),
    "email": ("Email", ("email_sent", "email_opened", "email_clicked", "email_bounced", "unsubscribed")),
    "notes": ("Notes", ("note",)),
    "changes": ("Changes", ("tag_added", "tag_removed", "field_changed", "score_changed", "contact_created")),
}


def _custom_display(field, value) -> str:
    if value is None or value == "":
        return ""
    if field.type == CustomFieldType.BOOLEAN:
        return "Yes" if value else "No"
    return str(value)


def _timeline(request, contact):
    show = request.GET.get("show", "")
    kinds = TIMELINE_FILTERS[show][1] if show in TIMELINE_FILTERS else ()
    page = paginate(request, selectors.contact_timeline(contact=contact, kinds=kinds), TIMELINE_PARAM)
    page.entries = [timeline_entry(activity) for activity in page]
    return page, show if kinds else ""


def _score_parts(explained: dict) -> list[dict]:
    """The score's parts for its bar chart: each rule, then decay and changes by hand, with each bar's
    width relative to the largest part."""
    parts = [
        {"label": entry["rule_name"], "points": entry["points"], "count": entry["count"], "last_at": entry["last_at"]}
        for entry in explained["by_rule"]
    ]
    for key, label in (("decay", "No activity for a while"), ("manual", "Changed by hand")):
        if explained[key]["count"]:
            parts.append({"label": label, **explained[key]})
    largest = max((abs(part["points"]) for part in parts), default=0) or 1
    for part in parts:
        part["width"] = round(abs(part["points"]) * 100 / largest)
    return parts


def _contact_page(
    request,
    access,
    contact,
    *,
    form: ContactForm | None = None,
    note_form: NoteForm | None = None,
    score_form: ScoreAdjustForm | None = None,
):
    fields = list(selectors.custom_field_list(workspace=access.workspace))
    timeline, show = _timeline(request, contact)
    if request.htmx and TIMELINE_PARAM in request.GET:
        # "Load more": only the next entries and the next button, appended where the button was.
        return render_page(request, access, "crm/_timeline_items.html", {"contact": contact, "timeline": timeline})
    can_write = access.can(Perm.WRITE_CONTENT)
    values = contact.custom_fields or {}
    consents = list(selectors.contact_consents(contact=contact)[:CONSENTS_SHOWN])
    for consent in consents:
        consent.purpose_label = consent.purpose.replace("_", " ").capitalize()
    explained = contact_score_explain(contact=contact)
    context = {
        "contact": contact,
        "score_parts": _score_parts(explained),
        "score_changes": explained["changes"][:SCORE_CHANGES_SHOWN],
        "score_form": score_form or (ScoreAdjustForm() if can_write else None),
        "tags": selectors.contact_tags(contact=contact),
        "custom_values": [(field, _custom_display(field, values.get(field.key))) for field in fields],
        "timeline": timeline,
        "timeline_show": show,
        "timeline_filters": [(key, label) for key, (label, _) in TIMELINE_FILTERS.items()],
        "consents": consents,
        "form": form or (ContactForm(custom_fields=fields, contact=contact) if can_write else None),
        "editing": form is not None,
        "note_form": note_form or (NoteForm() if can_write else None),
        "all_tags": selectors.tag_list(workspace=access.workspace).values_list("name", flat=True) if can_write else [],
    }
    return render_page(request, access, "crm/contact.html", context)


@dashboard_view(Perm.READ)
@require_http_methods(["GET", "POST"])
def contact_detail(request, access, pk: int):
    contact = workspace_object_or_404(Contact, access, pk)
    if request.method == "GET":
        return _contact_page(request, access, contact)
    require(access, Perm.WRITE_CONTENT)
    fields = list(selectors.custom_field_list(workspace=access.workspace))
    form = ContactForm(request.POST, custom_fields=fields, contact=contact)
    updated = submit(
        form,
        lambda _: contact_update(
            contact=contact, data=form.service_data(), source=ContactSource.MANUAL, actor=request.user
        ),
    )
    if updated is None:
        messages.error(request, "The contact was not saved: check the highlighted fields.")
        return _contact_page(request, access, contact, form=form)
    messages.success(request, "Contact saved.")
    return redirect("dashboard:contacts-detail", pk=contact.pk)


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def contact_tag_add(request, access, pk: int):
    contact = workspace_object_or_404(Contact, access, pk)
    names = [name for name in request.POST.get("tags", "").split(",") if name.strip()]
    if not names:
        messages.error(request, "Type a tag name to add.")
    else:
        run_action(
            request,
            lambda: contact_tags_add(
                contact=contact,
                tags=tags_resolve(workspace=access.workspace, names=names),
                source=ContactSource.MANUAL,
                actor=request.user,
            ),
            f"Tagged {', '.join(name.strip() for name in names)}.",
        )
    return redirect(reverse("dashboard:contacts-detail", args=[contact.pk]) + "#tags")


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def contact_tag_remove(request, access, pk: int, tag_pk: int):
    contact = workspace_object_or_404(Contact, access, pk)
    tag = workspace_object_or_404(Tag, access, tag_pk)
    contact_tags_remove(contact=contact, tags=[tag], source=ContactSource.MANUAL, actor=request.user)
    messages.success(request, f"Removed the tag {tag.name}.")
    return redirect(reverse("dashboard:contacts-detail", args=[contact.pk]) + "#tags")


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def contact_note(request, access, pk: int):
    contact = workspace_object_or_404(Contact, access, pk)
    form = NoteForm(request.POST)
    note = submit(form, lambda data: contact_note_add(contact=contact, text=data["text"], actor=request.user))
    if note is None:
        return _contact_page(request, access, contact, note_form=form)
    messages.success(request, "Note added.")
    return redirect(reverse("dashboard:contacts-detail", args=[contact.pk]) + "#timeline")


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def contact_score(request, access, pk: int):
    contact = workspace_object_or_404(Contact, access, pk)
    form = ScoreAdjustForm(request.POST)
    change = submit(
        form,
        lambda data: score_adjust(contact=contact, points=data["points"], note=data["note"], actor=request.user),
    )
    if change is None:
        return _contact_page(request, access, contact, score_form=form)
    messages.success(request, f"Score changed by {change.points:+d} points.")
    return redirect(reverse("dashboard:contacts-detail", args=[contact.pk]) + "#score")


@dashboard_view(Perm.READ)
@require_GET
def contact_data_download(request, access, pk: int):
    """Everything stored about the contact, as a JSON file (a subject access request); audited."""
    contact = workspace_object_or_404(Contact, access, pk)
    data = contact_data_export(contact=contact, actor=request.user, ip=client_ip(request))
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
    return response


@dashboard_view(Perm.MANAGE_SETTINGS)
@require_POST
def contact_erase_view(request, access, pk: int):
    """Erase the contact everywhere, once the email has been typed to confirm: it can't be undone."""
    contact = workspace_object_or_404(Contact, access, pk)
    if request.POST.get("confirm", "").strip().lower() != contact.email:
        messages.error(request, "Type the contact's email address exactly to confirm the erasure.")
        return redirect(reverse("dashboard:contacts-detail", args=[contact.pk]) + "#privacy")
    contact_erase(contact=contact, actor=request.user, ip=client_ip(request))
    messages.success(request, "The contact was erased, with their data everywhere it was stored.")
    return redirect("dashboard:contacts")


@dashboard_view(Perm.WRITE_CONTENT)
@require_http_methods(["GET", "POST"])
def contact_new(request, access):
    fields = list(selectors.custom_field_list(workspace=access.workspace))
    if request.method == "POST":
        form = ContactCreateForm(request.POST, custom_fields=fields)
        created = submit(
            form,
            lambda _: contact_create(
                workspace=access.workspace, data=form.service_data(), source=ContactSource.MANUAL, actor=request.user
            ),
        )
        if created is not None:
            messages.success(request, f"{created.name or created.email} added.")
            return redirect("dashboard:contacts-detail", pk=created.pk)
    else:
        form = ContactCreateForm(custom_fields=fields)
    context = {
        "tab": "contacts",
        "form": form,
        "all_tags": selectors.tag_list(workspace=access.workspace).values_list("name", flat=True),
    }
    return render_page(request, access, "crm/contact_new.html", context)
