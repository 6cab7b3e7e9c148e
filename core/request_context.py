"""The current request id, shared by logs, error envelopes and the Celery tasks a request starts."""

import re
import uuid

import structlog

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
