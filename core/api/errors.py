"""One error envelope for every 4xx/5xx under /api/.

{"error": {"code": "validation_error", "message": "…", "details": {"field": ["…"]}, "trace_id": "…"}}
"""

import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

from core.concurrency import ConflictError
from core.logging import get_logger
from core.request_context import current_request_id

log = get_logger(__name__)

_MESSAGES = {
    "validation_error": "Invalid input.",
    "not_found": "Not found.",
}


def error_response(
    request: HttpRequest | None,
    status: int,
    code: str,
    message: str,
    details: dict | None = None,
    headers: dict | None = None,
) -> JsonResponse:
    trace_id = getattr(request, "request_id", None) or current_request_id()
    body = {"error": {"code": code, "message": message, "details": details or {}, "trace_id": trace_id}}
    return JsonResponse(body, status=status, headers=headers)


def _validation_details(detail) -> dict:
    if isinstance(detail, dict):
        return detail
    return {"non_field_errors": detail if isinstance(detail, list) else [detail]}


def _validation_message(details: dict) -> str:
    fields = [name for name in details if name != "non_field_errors"]
    if fields:
        return "Invalid input: " + ", ".join(fields) + "."
    first = details.get("non_field_errors") or ["Invalid input."]
    return str(first[0])


def exception_handler(exc: Exception, context: dict) -> JsonResponse:
    """DRF's exception handler, replaced: every exception becomes the envelope, never HTML."""
    request = context.get("request")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        # Services raise Django's ValidationError (they know nothing of DRF); it is still a 400.
        exc = exceptions.ValidationError(as_serializer_error(exc))

    set_rollback()
    if isinstance(exc, ConflictError):
        return _conflict_response(request, exc, context.get("view"))
    if not isinstance(exc, exceptions.APIException):
        log.exception("unhandled_api_exception", exc_info=exc)
        return error_response(request, 500, "server_error", "Something went wrong on our side.")

    headers = {}
    if auth_header := getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(math.ceil(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        details = _validation_details(exc.detail)
        return error_response(
            request, exc.status_code, "validation_error", _validation_message(details), details, headers
        )
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    message = exc.detail
    if isinstance(message, dict):
        # simplejwt's InvalidToken carries {"detail": …, "code": …, "messages": […]}: keep the sentence.
        code = str(message.get("code") or code)
        message = message.get("detail") or exc.default_detail
    return error_response(request, exc.status_code, code, str(message), None, headers)


def _conflict_response(request, exc: ConflictError, view) -> JsonResponse:
    """409 carrying the stored object as the view would serialise it, under details.current."""
    serialize = getattr(view, "conflict_representation", None)
    current = serialize(exc.instance) if serialize else {"version": getattr(exc.instance, "version", None)}
    return error_response(request, 409, "conflict", exc.message, {"current": current})


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def handler400(request, exception=None):
    if _is_api(request):
        return error_response(request, 400, "bad_request", "Bad request.")
    return defaults.bad_request(request, exception)


def handler403(request, exception=None):
    if _is_api(request):
        return error_response(request, 403, "permission_denied", "You do not have permission to perform this action.")
    return defaults.permission_denied(request, exception)


@csrf_exempt  # nothing to protect, and a CSRF failure would answer with an HTML page
def api_not_found(request, exception=None):
    """The last route under /api/: an unknown API URL gets the envelope even with DEBUG on, where
    Django would otherwise answer with its HTML debug page instead of calling handler404."""
    return error_response(request, 404, "not_found", f"No API endpoint at {request.path}.")


def handler404(request, exception=None):
    if _is_api(request):
        return api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if _is_api(request):
        return error_response(request, 500, "server_error", "Something went wrong on our side.")
    return defaults.server_error(request)
