"""Event handlers owned by accounts."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import Invitation
from core.events import on
from core.models import Event


@on("invitation.created")
def send_invitation_email(event: Event) -> None:
    invitation = Invitation.objects.select_related("workspace", "invited_by").get(pk=event.payload["invitation_id"])
    if invitation.status != "pending":
        return
    token = event.payload["token"]
    context = {
        "invitation": invitation,
        "accept_url": settings.SITE_URL.rstrip("/") + reverse("dashboard:invitation-accept", args=[token]),
    }
    send_mail(
        subject=f"You're invited to {invitation.workspace.name} on Siteflow",
        message=render_to_string("emails/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )
    # The token has done its job; don't keep a usable credential in the event log.
    event.payload = {**event.payload, "token": "[sent]"}
    event.save(update_fields=["payload"])
