from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.core.ratelimit import respond_429
from django.conf import settings
from django.core.exceptions import ValidationError

from accounts import services
from core.request_context import client_ip


class AccountAdapter(DefaultAccountAdapter):
    """Dashboard signups get their own workspace, like API registrations do; too many failed
    sign-ins answer 429 with Retry-After, like the API's token endpoint, not a form error."""

    def pre_authenticate(self, request, **credentials):
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as exc:
            if exc.code != "too_many_login_attempts":
                raise
            response = respond_429(request)
            response["Retry-After"] = str(settings.LOGIN_FAILED_WINDOW_SECONDS)
            raise ImmediateHttpResponse(response) from exc

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            local_part = user.email.split("@")[0]
            services.workspace_create(owner=user, name=f"{local_part}'s workspace", ip=client_ip(request))
        return user
