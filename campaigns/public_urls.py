"""Public, unauthenticated endpoints recipients reach from an email: tracking, unsubscribe,
confirmations; and the ESPs' webhooks."""

from contextlib import contextmanager
from functools import wraps

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailConfigurationError
from anymail.utils import get_anymail_setting
from django.core.exceptions import BadRequest
from django.http import HttpResponseForbidden
from django.urls import URLPattern, include, path, re_path

from campaigns import public_views
from core.logging import get_logger

log = get_logger(__name__)

app_name = "campaigns_public"

_TOKEN = r"(?P<token>[A-Za-z0-9_-]{1,64})"


def _secret_required(view):
    """Anymail only warns when no WEBHOOK_SECRET is set; here a webhook without one is refused, since
    anyone could otherwise report a bounce and suppress a contact."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not get_anymail_setting("webhook_secret", default=None):
            return HttpResponseForbidden("Set ANYMAIL_WEBHOOK_SECRET to receive email webhooks.")
        try:
            return view(request, *args, **kwargs)
        except AnymailConfigurationError as exc:
            # e.g. Mailgun's webhook without ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY: the operator's to fix,
            # and nothing the caller sent is taken.
            log.error("email_webhook_not_configured", path=request.path, error=str(exc))
            return HttpResponseForbidden("This email webhook is not configured.")

    return guarded


@contextmanager
def _malformed_body_is_400():
    """Anymail reads an ESP's body as that ESP documents it; a body of another shape (not JSON, a list
    where an object belongs, a field of the wrong type) fails inside its parsing. That is the caller's
    mistake, a 400, not a 500 that the ESP would retry forever."""
    try:
        yield
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise BadRequest("The webhook's body is not in the form this email service sends.") from exc


def _strict(view_class):
    """The ESP's webhook view with a malformed body refused as a 400. Only reading the request is
    covered: an error in applying the events (our receivers) stays a 500, so the ESP retries."""

    class Strict(view_class):
        def run_validators(self, request):
            with _malformed_body_is_400():
                super().run_validators(request)

        def parse_events(self, request):
            with _malformed_body_is_400():
                return list(super().parse_events(request))

    Strict.__name__ = Strict.__qualname__ = view_class.__name__
    return Strict


def _webhook_view(callback):
    return _secret_required(_strict(callback.view_class).as_view(**callback.view_initkwargs))


webhook_patterns = [
    URLPattern(pattern.pattern, _webhook_view(pattern.callback), pattern.default_args, pattern.name)
    for pattern in anymail_urls.urlpatterns
]

urlpatterns = [
    re_path(rf"^t/o/{_TOKEN}\.gif$", public_views.open_pixel, name="open"),
    re_path(rf"^t/c/{_TOKEN}$", public_views.click, name="click"),
    re_path(rf"^u/{_TOKEN}/$", public_views.unsubscribe, name="unsubscribe"),
    re_path(rf"^u/{_TOKEN}/resubscribe/$", public_views.resubscribe, name="resubscribe"),
    path("c/<str:signed>/", public_views.optin_confirm_page, name="optin-confirm"),
    path("senders/verify/<str:token>/", public_views.sender_verify_page, name="sender-verify"),
    path("webhooks/email/", include((webhook_patterns, anymail_urls.app_name))),
]
