import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from core.api.errors import error_response
from core.logging import get_logger
from core.request_context import bind_request_id, new_request_id

access_log = get_logger("siteflow.access")


class RequestIdMiddleware:
    """Gives every request an id, echoes it as X-Request-ID and logs one line when it ends."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = new_request_id(request.headers.get("X-Request-ID"))
        bind_request_id(request.request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        if settings.ACCESS_LOG:
            access_log.info(
                "request",
                method=request.method,
                path=request.path,
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
        return response


def _view_body_limit(path: str) -> int:
    """The larger body an upload endpoint allows: its view class's `max_body_bytes()`, or 0."""
    try:
        match = resolve(path)
    except Resolver404:
        return 0
    view_class = getattr(match.func, "cls", None)
    limit = getattr(view_class, "max_body_bytes", None)
    return limit() if callable(limit) else 0


class ApiBodyLimitMiddleware:
    """Refuses oversize API bodies up front.

    DRF's parsers read the raw stream, which bypasses DATA_UPLOAD_MAX_MEMORY_SIZE, so the limit is
    enforced here from Content-Length before any byte is read. A view that takes file uploads may
    allow more with a `max_body_bytes()` static method (looked up only for bodies over the limit).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error_response(request, 400, "bad_request", "Content-Length must be an integer.")
            if length > settings.API_MAX_BODY_BYTES:
                limit = max(settings.API_MAX_BODY_BYTES, _view_body_limit(request.path_info))
                if length > limit:
                    return error_response(
                        request, 413, "payload_too_large", f"Request body is {length} bytes; the limit is {limit}."
                    )
        return self.get_response(request)
