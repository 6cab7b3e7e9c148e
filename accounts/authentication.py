import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.models import ApiKey

KEY_PREFIX = "sf_"
_LAST_USED_PRECISION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_api_key() -> tuple[str, str]:
    """Returns (prefix, full key). The prefix identifies a key in lists without revealing it."""
    prefix = secrets.token_hex(4)
    return prefix, f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


class ApiKeyUser:
    """The principal behind an API key: authenticated, but no person. Its role comes from the key."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = id = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.email = f"api-key:{api_key.prefix}"

    def __str__(self) -> str:
        return f"API key {self.api_key.name} (sf_{self.api_key.prefix}_…)"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer sf_…`; any other bearer token is left to the JWT authenticator."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if len(header) != 2 or header[0] != self.keyword or not header[1].startswith(KEY_PREFIX):
            return None
        key = header[1]
        api_key = (
            ApiKey.objects.select_related("workspace")
            .filter(key_hash=hash_secret(key), revoked_at__isnull=True)
            .first()
        )
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.", code="invalid_api_key")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > _LAST_USED_PRECISION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'
