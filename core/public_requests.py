"""What the public endpoints (a site's form posts, a workflow's webhook) check the same way: the size
of the body, read without holding more of it than the limit, and a fixed-window rate limit. Each
refuses with `Refusal`, which the endpoint answers in its own format."""

import math
import time

from django.core.cache import cache
from django.http import HttpRequest, UnreadablePostError

from core.api.throttling import count_hit

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Refusal(Exception):
    """A request turned away, with what to answer: status, code, message, per-field details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or {}
        self.headers = headers or {}
        self.labels = labels or {}


def _too_large(size: int | str, limit: int) -> Refusal:
    return Refusal(413, "payload_too_large", f"The request body is {size} bytes; the limit is {limit}.")


def declared_size_check(request: HttpRequest, *, limit: int) -> None:
    """413 before reading anything when Content-Length says the body is over `limit`."""
    declared = request.META.get("CONTENT_LENGTH")
    if not declared:
        return
    try:
        length = int(declared)
    except ValueError:
        raise Refusal(400, "bad_request", "Content-Length must be an integer.") from None
    if length > limit:
        raise _too_large(length, limit)


def body_read(request: HttpRequest, *, limit: int) -> bytes:
    """At most one byte over the limit, so a body sent without Content-Length (chunked) is refused
    without being held in memory whole."""
    try:
        body = request.read(limit + 1)
    except UnreadablePostError:
        raise Refusal(400, "bad_request", "The request body could not be read.") from None
    if len(body) > limit:
        raise _too_large(f"more than {limit}", limit)
    return body


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/min' → (10, 60): requests per period in seconds, written as DRF writes throttle rates."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


def throttle(key: str, rate: str, *, what: str) -> None:
    """429 with Retry-After once `key` is over `rate` in the current window; `what` names the
    requests counted ("submissions")."""
    limit, duration = parse_rate(rate)
    now = time.time()
    window = int(now // duration)
    if count_hit(cache, f"{key}_{window}", duration) > limit:
        wait = max(math.ceil((window + 1) * duration - now), 1)
        raise Refusal(
            429, "throttled", f"Too many {what}; try again in {wait} seconds.", headers={"Retry-After": str(wait)}
        )
