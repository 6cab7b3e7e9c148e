"""The current request id, shared by logs, error envelopes and the Celery tasks a request starts."""

import ipaddress
import re
import uuid

import structlog
from django.conf import settings

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


def new_request_id(incoming: str | None = None) -> str:
    """Keep a caller's well-formed id so a trace spans services; mint one otherwise."""
    if incoming and _VALID_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def bind_request_id(request_id: str) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)


def current_request_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("request_id")


def client_ip(request) -> str | None:
    """The client's address, for audit records and per-address throttles.

    X-Forwarded-For is trusted only when NUM_PROXIES says how many proxies stand in front (then the
    entry they appended is taken); otherwise anyone could forge it to dodge a limit or a record.
    No request, or anything that is not an IP address, gives None.
    """
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR")
    num_proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if num_proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        address = hops[-min(num_proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None
