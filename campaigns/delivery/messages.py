"""Building the message a ledger row stands for: rendered, tracked, and with the headers that let a
recipient unsubscribe in one click and an ESP's webhook find the row again."""

from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from accounts.models import Workspace
from campaigns.content import compile_email, contact_context
from campaigns.models import Campaign, EmailSend, Sender, SendingSettings
from campaigns.tracking import tracking_apply, unsubscribe_mailto, unsubscribe_url


def sender_address(sender: Sender | None) -> str:
    """The From of mail sent as `sender` ("Name <address>"), or the site's default without one."""
    if sender is None:
        return settings.DEFAULT_FROM_EMAIL
    return formataddr((sender.from_name, sender.from_email))


def sending_settings_for(workspace_id: int) -> SendingSettings:
    """The workspace's settings, or the defaults when it never saved any (read-only: delivery never writes them)."""
    return SendingSettings.objects.filter(workspace_id=workspace_id).first() or SendingSettings(
        workspace_id=workspace_id
    )


def message_id(send: EmailSend) -> str:
    """A Message-ID made from the row's token: the same message always carries the same one."""
    domain = parseaddr(send.from_email)[1].rpartition("@")[2] or "siteflow.localhost"
    return f"<{send.token}@{domain}>"


class MessageBuilder:
    """Builds the messages of one workspace's batch. A campaign's content is compiled once for the
    batch; each row then only renders, so personalising costs little per recipient."""

    def __init__(self, *, workspace_id: int, campaign: Campaign | None = None):
        self.settings = sending_settings_for(workspace_id)
        self.workspace_name = Workspace.objects.filter(pk=workspace_id).values_list("name", flat=True).first() or ""
        self.campaign = campaign
        self.compiled = None
        self.reply_to = []
        if campaign is not None:
            self.compiled = compile_email(
                content=campaign.content,
                subject=campaign.subject,
                subject_b=campaign.subject_b,
                preheader=campaign.preheader,
                postal_address=self.settings.postal_address,
                workspace_name=self.workspace_name,
                marketing=True,
            )
            sender = campaign.sender
            self.from_email = sender_address(sender)
            self.reply_to = [sender.reply_to] if sender and sender.reply_to else []

    def build(self, send: EmailSend) -> EmailMultiAlternatives:
        """The message for `send` (its contact loaded), with `subject` set to what the recipient sees."""
        marketing = send.is_marketing
        if self.compiled is not None:
            context = {
                "contact": contact_context(send.contact),
                "workspace": {"name": self.workspace_name},
                "unsubscribe_url": unsubscribe_url(send.token),
            }
            variant = send.variant or self.campaign.ab_winner or "a"
            rendered = self.compiled.render(context, variant=variant)
            subject, html, text = rendered.subject, rendered.html, rendered.text
            from_email, reply_to = send.from_email or self.from_email, self.reply_to
        else:
            subject, html, text = send.subject, send.body.get("html", ""), send.body.get("text", "")
            from_email = send.from_email or settings.DEFAULT_FROM_EMAIL
            reply_to = [send.body["reply_to"]] if send.body.get("reply_to") else []
        subject = " ".join(subject.split())  # a line break in a header would be refused (or worse, injected)
        headers = {"Message-ID": message_id(send)}
        if marketing:
            links = [unsubscribe_url(send.token), unsubscribe_mailto(send.token)]
            headers["List-Unsubscribe"] = ", ".join(f"<{link}>" for link in links if link)
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message = EmailMultiAlternatives(
            subject=subject, body=text, from_email=from_email, to=[send.to_email], reply_to=reply_to, headers=headers
        )
        if html:
            # Only marketing mail is tracked: a confirmation or verification email goes to someone
            # who hasn't agreed to anything yet, and its links must work as written.
            html = tracking_apply(
                html,
                token=send.token,
                track_opens=marketing and self.settings.track_opens,
                track_clicks=marketing and self.settings.track_clicks,
            )
            message.attach_alternative(html, "text/html")
        # anymail hands this to the ESP, whose webhooks send it back; other backends ignore it.
        message.metadata = {"send_id": str(send.pk)}
        return message
