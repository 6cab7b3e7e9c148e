"""Campaigns: the list, the editor (blocks, live preview, audience with its live count, schedule,
send and test), and the controls of a campaign that is sending.

The editor is one form: Save, Send test, Schedule and Send now all save what is on screen first and
then act, so nothing typed is lost to a refused send. The blocks are edited by a script over the
block types' schemas (campaigns.content.BLOCK_TYPES) and posted as one JSON field; errors come back
keyed by path ("content.blocks.2.text") and the script shows each next to its block and field.
"""

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponse, JsonResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import Perm
from accounts.views import dashboard_view, paginate, require, run_action, search_text, submit
from campaigns import selectors
from campaigns.content import BLOCK_TYPES, content_clean, personalization_catalog
from campaigns.forms import AUDIENCE_KEYS, AudienceForm, CampaignForm, JsonField, ScheduleForm, TestSendForm
from campaigns.models import Campaign, CampaignStatus, Sender, SenderStatus
from campaigns.services.campaigns import (
    EDITABLE,
    campaign_cancel,
    campaign_create,
    campaign_delete,
    campaign_pause,
    campaign_resume,
    campaign_schedule,
    campaign_send,
    campaign_test_send,
    campaign_update,
)
from campaigns.services.senders import sending_settings_get
from campaigns.views import read_only, render_email_page
from core.templating import TemplateRenderError
from crm.models import Contact, Segment, Tag
from crm.views import workspace_object_or_404

#: An email's own markup runs nothing and fetches only images: it is shown in a sandboxed frame.
EMAIL_CSP = "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; font-src https:; sandbox"
#: Contacts offered in the preview's "as seen by" picker.
PREVIEW_CONTACTS = 25
STARTER_CONTENT = {
    "blocks": [
        {"type": "heading", "text": "A headline that says what's inside"},
        {"type": "text", "text": '<p>Hi {{ contact.first_name | default("there") }},</p><p>Your message here.</p>'},
    ]
}
_STATUS_FILTERS = [("", "All"), *CampaignStatus.choices]


def _percent(part: int, whole: int) -> float | None:
    """A rate as a percentage for display; None when there is nothing to divide by yet."""
    return part * 100 / whole if whole else None


def _verified_senders(workspace):
    return Sender.objects.for_workspace(workspace).filter(status=SenderStatus.VERIFIED).order_by("pk")


def campaign_or_404(access, pk: int) -> Campaign:
    return workspace_object_or_404(Campaign, access, pk, related=("sender",))


# --- The list ------------------------------------------------------------------------------------------


@dashboard_view(Perm.READ)
@require_GET
def campaign_list(request, access):
    search = search_text(request)
    status = request.GET.get("status", "")
    campaigns = Campaign.objects.for_workspace(access.workspace)
    has_campaigns = campaigns.exists()
    if search:
        campaigns = campaigns.filter(Q(name__icontains=search) | Q(subject__icontains=search))
    if status in CampaignStatus.values:
        campaigns = campaigns.filter(status=status)
    else:
        status = ""
    page = paginate(request, selectors.campaign_list(queryset=campaigns.order_by("-created_at", "-id")))
    for campaign in page:
        reached = campaign.reached_count
        campaign.open_rate = _percent(campaign.unique_open_count, reached)
        campaign.click_rate = _percent(campaign.unique_click_count, reached)
    context = {
        "tab": "campaigns",
        "campaigns": page,
        "has_campaigns": has_campaigns,
        "search": search,
        "status": status,
        "status_filters": [(value, label, _filter_url(search, value)) for value, label in _STATUS_FILTERS],
    }
    return render_email_page(request, access, "campaigns/list.html", context)


def _filter_url(search: str, status: str) -> str:
    query = QueryDict(mutable=True)
    if search:
        query["q"] = search
    if status:
        query["status"] = status
    return reverse("dashboard:campaigns") + (f"?{query.urlencode()}" if query else "")


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def campaign_new(request, access):
    """A draft with starter blocks, opened in the editor: naming it is the first field there."""
    name = request.POST.get("name", "").strip() or "Untitled campaign"
    sender = _verified_senders(access.workspace).first()
    try:
        campaign = campaign_create(
            workspace=access.workspace, actor=request.user, name=name, sender=sender, content=STARTER_CONTENT
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("dashboard:campaigns")
    return redirect("dashboard:campaigns-edit", pk=campaign.pk)


@dashboard_view(Perm.READ)
@require_GET
def campaign_detail(request, access, pk: int):
    """A campaign's own address: the editor while it can change, its report once it has gone out."""
    campaign = campaign_or_404(access, pk)
    target = "dashboard:campaigns-edit" if campaign.status in EDITABLE else "dashboard:campaigns-report"
    return redirect(target, pk=campaign.pk)


# --- The editor ----------------------------------------------------------------------------------------


def _choices(model, workspace) -> list[tuple[int, str]]:
    return list(model.objects.for_workspace(workspace).order_by("name", "id").values_list("id", "name"))


def _campaign_form(access, campaign, data=None) -> CampaignForm:
    workspace = access.workspace
    form = CampaignForm(
        data,
        workspace=workspace,
        campaign=campaign,
        segments=_choices(Segment, workspace),
        tags=_choices(Tag, workspace),
    )
    return form if access.can(Perm.WRITE_CONTENT) else read_only(form)


def _count(workspace, audience: dict) -> int | None:
    """The audience's size, or None when it names a segment whose rules no longer hold."""
    try:
        return selectors.campaign_recipient_count(workspace=workspace, audience=audience)
    except ValidationError:
        return None


def _editor_page(request, access, campaign, *, form=None, errors=None, schedule_form=None, test_form=None):
    workspace = access.workspace
    form = form or _campaign_form(access, campaign)
    content_errors = {key: value for key, value in (errors or {}).items() if key.startswith("content")}
    content = form["content"].value()
    if isinstance(content, str):
        try:
            content = JsonField().to_python(content)
        except ValidationError:
            content = campaign.content
    audience = (form.audience() if form.is_bound and form.is_valid() else None) or campaign.audience or {}
    editor_config = {
        "blockTypes": BLOCK_TYPES,
        "content": content or {"blocks": []},
        "errors": content_errors,
        "canWrite": access.can(Perm.WRITE_CONTENT),
        "previewUrl": reverse("dashboard:campaigns-preview", args=[campaign.pk]),
        "csrfToken": get_token(request),
        "catalog": personalization_catalog(workspace),
    }
    settings = sending_settings_get(workspace=workspace)
    context = {
        "tab": "campaigns",
        "campaign": campaign,
        "form": form,
        "audience_fields": [form[name] for name in AUDIENCE_KEYS],
        "editor_config": editor_config,
        "content_errors": content_errors,
        "has_verified_sender": _verified_senders(workspace).exists(),
        "postal_address": settings.postal_address,
        "preview_contacts": Contact.objects.for_workspace(workspace)
        .sendable()
        .order_by("-created_at")[:PREVIEW_CONTACTS],
        "recipient_count": _count(workspace, audience),
        "schedule_form": schedule_form or ScheduleForm(initial={"scheduled_at": campaign.scheduled_at}),
        "test_form": test_form or TestSendForm(initial={"email": request.user.email}),
    }
    refused = [form.errors, errors, schedule_form and schedule_form.errors, test_form and test_form.errors]
    status = 400 if any(refused) else 200
    return render_email_page(request, access, "campaigns/editor.html", context, status=status)


def _locked(request, campaign):
    state = campaign.get_status_display().lower()
    messages.info(request, f"“{campaign.name}” is {state} and can no longer be changed.")
    return redirect("dashboard:campaigns-report", pk=campaign.pk)


@dashboard_view(Perm.READ)
@require_http_methods(["GET", "POST"])
def campaign_edit(request, access, pk: int):
    campaign = campaign_or_404(access, pk)
    if campaign.status not in EDITABLE:
        return _locked(request, campaign)
    if request.method == "GET":
        return _editor_page(request, access, campaign)
    require(access, Perm.WRITE_CONTENT)
    form = _campaign_form(access, campaign, request.POST)
    if not form.is_valid():
        return _editor_page(request, access, campaign, form=form)
    try:
        campaign = campaign_update(campaign=campaign, **form.service_data())
    except ValidationError as exc:
        return _editor_page(request, access, campaign, form=form, errors=_show_errors(form, exc))
    return _act(request, access, campaign, form, request.POST.get("action", "save"))


def _show_errors(form, exc: ValidationError) -> dict:
    """Put a service's errors on the form's fields; return those about blocks ("content.blocks.2.text"),
    which the block editor shows next to the block."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return {}
    paths = {key: value for key, value in exc.message_dict.items() if key.startswith("content.")}
    for key, errors in exc.error_dict.items():
        if key.startswith("content."):
            continue
        # "audience.segments.0" (a segment whose rules broke) belongs to the segments picker.
        field = key.split(".")[1] if key.startswith("audience.") else key
        form.add_error(field if field in form.fields else None, errors)
    return paths


def _act(request, access, campaign, form, action: str):
    """After a save: send a test, schedule, or send now; a refusal shows on the editor."""
    if action == "test":
        test_form = TestSendForm(request.POST)
        if submit(test_form, lambda data: campaign_test_send(campaign=campaign, email=data["email"]) or True):
            messages.success(request, f"Saved, and a test sent to {test_form.cleaned_data['email']}.")
            return redirect("dashboard:campaigns-edit", pk=campaign.pk)
        return _editor_page(request, access, campaign, form=form, test_form=test_form)
    if action == "schedule":
        schedule_form = ScheduleForm(request.POST)
        when = schedule_form.fields["scheduled_at"]
        if submit(schedule_form, lambda data: campaign_schedule(campaign=campaign, **data) or True):
            at = schedule_form.cleaned_data["scheduled_at"]
            messages.success(request, f"“{campaign.name}” is scheduled for {when.widget.format_value(at)}.")
            return redirect("dashboard:campaigns-edit", pk=campaign.pk)
        return _editor_page(request, access, campaign, form=form, schedule_form=schedule_form)
    if action == "send":
        try:
            campaign_send(campaign=campaign)
        except ValidationError as exc:
            return _editor_page(request, access, campaign, form=form, errors=_show_errors(form, exc))
        messages.success(request, f"“{campaign.name}” is on its way.")
        return redirect("dashboard:campaigns-report", pk=campaign.pk)
    messages.success(request, f"“{campaign.name}” saved.")
    return redirect("dashboard:campaigns-edit", pk=campaign.pk)


# --- The preview and the live recipient count ----------------------------------------------------------


def _email_response(html: str) -> HttpResponse:
    response = HttpResponse(html)
    response["Content-Security-Policy"] = EMAIL_CSP
    return response


def _preview_contact(access, value: str) -> Contact | None:
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return Contact.objects.for_workspace(access.workspace).filter(pk=int(value)).first()


@xframe_options_sameorigin
@dashboard_view(Perm.READ)
@require_http_methods(["GET", "POST"])
def campaign_preview(request, access, pk: int):
    """GET: the saved email as a contact would get it (the page is its own sandboxed document).
    POST: what is on the editor's screen, unsaved, as JSON {subject, html, text}, or its errors by path."""
    campaign = campaign_or_404(access, pk)
    params = request.POST if request.method == "POST" else request.GET
    contact = _preview_contact(access, params.get("contact", ""))
    if request.method == "GET":
        try:
            rendered = selectors.campaign_preview(campaign=campaign, contact=contact)
        except (ValidationError, TemplateRenderError) as exc:
            return HttpResponse(_problem(exc), status=400, content_type="text/plain; charset=utf-8")
        return _email_response(rendered.html)
    # Never saved: the preview shows edits before they are. What isn't posted (a viewer's disabled
    # fields) is the campaign's own.
    draft = copy.copy(campaign)
    for name in ("subject", "preheader", "subject_b"):
        setattr(draft, name, params.get(name, getattr(campaign, name)))
    try:
        if "content" in params:
            draft.content = content_clean(JsonField().to_python(params["content"]))
        rendered = selectors.campaign_preview(campaign=draft, contact=contact)
        subject_b = ""
        if draft.subject_b:  # the A/B test's other subject, as the same contact would see it
            who = contact or selectors.campaign_sample_contact(draft)
            subject_b = selectors.campaign_render(draft, who, variant="b").subject
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"content": exc.messages}
        return JsonResponse({"errors": errors}, status=400)
    except TemplateRenderError as exc:
        return JsonResponse({"errors": {"content": [str(exc)]}}, status=400)
    return JsonResponse(
        {"subject": rendered.subject, "subject_b": subject_b, "html": rendered.html, "text": rendered.text}
    )


def _problem(exc: Exception) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


@dashboard_view(Perm.READ)
@require_GET
def campaign_recipients(request, access):
    """The editor's live count: how many contacts the audience picked on screen would get it."""
    workspace = access.workspace
    form = AudienceForm(request.GET, segments=_choices(Segment, workspace), tags=_choices(Tag, workspace))
    count = _count(workspace, form.audience()) if form.is_valid() else None
    return render_email_page(request, access, "campaigns/_recipient_count.html", {"recipient_count": count})


# --- Sending: progress and its controls ----------------------------------------------------------------


@dashboard_view(Perm.READ)
@require_GET
def campaign_progress(request, access, pk: int):
    """The progress card, which re-reads itself every two seconds while the campaign sends. When it
    stops sending, the whole report page reloads once, to show the figures."""
    campaign = campaign_or_404(access, pk)
    response = render_email_page(request, access, "campaigns/_progress.html", progress_context(campaign))
    if request.htmx and campaign.status != CampaignStatus.SENDING:
        response["HX-Refresh"] = "true"
    return response


def progress_context(campaign: Campaign) -> dict:
    return {
        "campaign": campaign,
        "progress": selectors.campaign_progress(campaign=campaign),
        "polling": campaign.status == CampaignStatus.SENDING,
    }


def _control(service, done: str):
    @dashboard_view(Perm.WRITE_CONTENT)
    @require_POST
    def view(request, access, pk: int):
        campaign = campaign_or_404(access, pk)
        run_action(request, lambda: service(campaign=campaign), done.format(name=campaign.name))
        return redirect("dashboard:campaigns-detail", pk=campaign.pk)

    view.__name__ = service.__name__
    return view


campaign_pause_view = _control(campaign_pause, "“{name}” is paused; resume it to send the rest.")
campaign_resume_view = _control(campaign_resume, "“{name}” is sending again.")
campaign_cancel_view = _control(campaign_cancel, "“{name}” is cancelled; no more of it will be sent.")


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def campaign_remove(request, access, pk: int):
    campaign = campaign_or_404(access, pk)
    if run_action(request, lambda: campaign_delete(campaign=campaign), f"Campaign “{campaign.name}” deleted."):
        return redirect("dashboard:campaigns")
    return redirect("dashboard:campaigns-detail", pk=campaign.pk)
