"""Django's own authentication hooks, turned into audit records (every login path sends them)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from accounts import services
from accounts.models import User
from core.request_context import client_ip


@receiver(user_logged_in, dispatch_uid="accounts.audit_login")
def audit_login(sender, request, user, **kwargs) -> None:
    services.login_record(email=user.email, user=user, ip=client_ip(request), success=True)


@receiver(user_login_failed, dispatch_uid="accounts.audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    email = credentials.get("email") or credentials.get("username") or ""
    user = User.objects.filter(email__iexact=email.strip()).first() if email else None
    services.login_record(email=email, user=user, ip=client_ip(request), success=False)
