"""Email settings: senders (the From identities, each verified by a link mailed to it) and the
workspace's sending settings (postal address, tracking, sending rate)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import Perm
from accounts.views import dashboard_view, require, run_action, submit
from campaigns.forms import SenderForm, SendingSettingsForm
from campaigns.models import Sender
from campaigns.services.senders import (
    sender_create,
    sender_delete,
    sender_verification_resend,
    sending_settings_get,
    sending_settings_update,
)
from campaigns.views import read_only, render_email_page
from crm.views import workspace_object_or_404


@dashboard_view(Perm.READ)
@require_http_methods(["GET", "POST"])
def sender_list(request, access):
    form = SenderForm() if access.can(Perm.WRITE_CONTENT) else None
    status = 200
    if request.method == "POST":
        require(access, Perm.WRITE_CONTENT)
        form = SenderForm(request.POST)
        created = submit(form, lambda data: sender_create(workspace=access.workspace, **data))
        if created is not None:
            messages.success(request, f"Sender added. We emailed a verification link to {created.from_email}.")
            return redirect("dashboard:campaigns-senders")
        status = 400
    context = {
        "tab": "senders",
        "senders": Sender.objects.for_workspace(access.workspace).order_by("from_email", "id"),
        "form": form,
    }
    return render_email_page(request, access, "campaigns/senders.html", context, status=status)


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def sender_resend(request, access, pk: int):
    sender = workspace_object_or_404(Sender, access, pk)
    run_action(
        request,
        lambda: sender_verification_resend(sender=sender),
        f"A new verification link is on its way to {sender.from_email}.",
    )
    return redirect("dashboard:campaigns-senders")


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def sender_remove(request, access, pk: int):
    sender = workspace_object_or_404(Sender, access, pk)
    run_action(request, lambda: sender_delete(sender=sender), f"Sender {sender.from_email} removed.")
    return redirect("dashboard:campaigns-senders")


@dashboard_view(Perm.READ)
@require_http_methods(["GET", "POST"])
def sending_settings(request, access):
    current = sending_settings_get(workspace=access.workspace)
    status = 200
    if request.method == "POST":
        require(access, Perm.WRITE_CONTENT)
        form = SendingSettingsForm(request.POST)
        if submit(form, lambda data: sending_settings_update(workspace=access.workspace, **data)):
            messages.success(request, "Sending settings saved.")
            return redirect("dashboard:campaigns-settings")
        status = 400
    else:
        form = SendingSettingsForm.for_settings(current)
        if not access.can(Perm.WRITE_CONTENT):
            read_only(form)
    context = {"tab": "settings", "form": form}
    return render_email_page(request, access, "campaigns/settings.html", context, status=status)
