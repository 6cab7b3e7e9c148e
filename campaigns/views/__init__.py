"""Email in the dashboard: the campaigns list, the editor with its live preview, sending progress,
the report, senders and sending settings, and the outbox of the embedded default.

Reads go through campaigns.selectors, writes through the campaign and sender services, so a page and
the API share one set of checks. Campaigns are looked up within the current workspace: another
workspace's ids are a 404.
"""

from django.conf import settings

from accounts.views import render_page

#: Django's file backend: messages are written under EMAIL_FILE_PATH, and the outbox pages show them.
FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


def outbox_enabled() -> bool:
    return settings.EMAIL_BACKEND == FILE_BACKEND


def render_email_page(request, access, template: str, context: dict | None = None, status: int = 200):
    """render_page, plus whether the section's Outbox tab is shown."""
    return render_page(request, access, template, {"outbox_enabled": outbox_enabled(), **(context or {})}, status)


def read_only(form):
    """The form with every field disabled, for a role that may look but not change."""
    for field in form.fields.values():
        field.disabled = True
    return form
