"""Throttles: per principal (user or API key) and per workspace, on the shared cache (Redis in services mode)."""

from rest_framework.throttling import SimpleRateThrottle

from core.request_context import client_ip


def principal_ident(request) -> str | None:
    api_key = getattr(request.user, "api_key", None)
    if api_key is not None:
        return f"key:{api_key.pk}"
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return None


def count_hit(cache, key: str, timeout: int) -> int:
    """Hits so far in the window `key`, this one included."""
    if incr_window := getattr(cache, "incr_window", None):  # Redis: one round trip
        return incr_window(key, timeout)
    cache.add(key, 0, timeout)
    return cache.incr(key)


class FixedWindowRateThrottle(SimpleRateThrottle):
    """A counter per time window.

    DRF's throttles keep a list of every request's timestamp (up to the whole rate: 1,200 floats at
    1200/min) and read and rewrite it on each request; a counter costs one round trip. The price is
    that a burst straddling two windows may reach twice the rate, which is fine for these broad caps;
    the login limits keep DRF's exact sliding window.
    """

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends_at = (window + 1) * self.duration
        return count_hit(self.cache, f"{key}:{window}", self.duration) <= self.num_requests

    def wait(self) -> float:
        return max(self.window_ends_at - self.now, 0)


class UserRateThrottle(FixedWindowRateThrottle):
    scope = "user"

    def get_cache_key(self, request, view):
        ident = principal_ident(request) or f"ip:{client_ip(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class WorkspaceRateThrottle(FixedWindowRateThrottle):
    """Caps one tenant's total traffic, whoever sends it, so a noisy workspace can't starve others."""

    scope = "workspace"

    def get_cache_key(self, request, view):
        access = getattr(view, "resolved_workspace_access", None)
        if access is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": access.workspace.pk}


class AuthIpThrottle(SimpleRateThrottle):
    """Login, register and token endpoints: attempts per client address."""

    scope = "auth_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}


class AuthAccountThrottle(SimpleRateThrottle):
    """Login, register and token endpoints: attempts per account, whichever address they come from."""

    scope = "auth_account"

    def get_cache_key(self, request, view):
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        return self.cache_format % {"scope": self.scope, "ident": email.strip().lower()}


AUTH_THROTTLES = [AuthIpThrottle, AuthAccountThrottle]
