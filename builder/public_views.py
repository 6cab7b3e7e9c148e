"""The public form endpoint, POST /f/<component_id>/, where visitors of published sites send forms.

No login and no cookies: published pages may live on other domains and post here across origins,
either as a plain HTML form or with fetch(). Checks run cheapest first (method, size, content type,
parsing, the form's existence, honeypot, render token, rate limits, the answers, then Turnstile, the
only one that costs a network round trip), so junk is turned away before it reaches the database.

Answers are JSON when the request asks for it (`Accept: application/json`) or sends JSON, in the
API's error envelope for refusals; otherwise small standalone HTML pages, or a 303 to the form's
redirect URL. Status codes:

- 201 stored (JSON); 303 to the redirect URL or 200 with the success page (HTML); 204 preflight.
- 400 unreadable body, `spam_suspected` (honeypot), `invalid_token` / `too_fast` (the signed render
  timestamp `_ts`: a bot posting the instant it loads the page is refused as input, not throttled),
  `validation_error` (the answers), `turnstile_failed`.
- 404 no such component, or a component that is not a form: to this URL both are "no form here".
- 405 any method but POST and OPTIONS; 413 body over FORM_MAX_BODY_BYTES; 415 not a form encoding
  or JSON; 429 over FORM_RATE_IP or FORM_RATE_FORM, with Retry-After.
- 503 with Retry-After when Cloudflare cannot be reached to verify Turnstile (passing unverified
  traffic would open the form to bots whenever Cloudflare is slow, and a 400 would tell a person
  they failed the check), or when the database refuses the write; nothing is stored, the visitor
  sends again.
"""

import json
from io import BytesIO
from urllib.parse import urljoin, urlsplit
from uuid import UUID

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt

from builder import public_forms
from builder.components import ConfigError, clean_url, get_type
from builder.form_tokens import FormTokenError, form_token_age
from builder.models import Component
from builder.services.submissions import form_submission_create
from core.api.errors import error_response
from core.logging import get_logger
from core.public_requests import Refusal, body_read, declared_size_check, throttle
from core.request_context import client_ip

log = get_logger(__name__)

# Any origin may post and read the answer. That is safe because the endpoint uses no cookies or other
# credentials (so no Allow-Credentials, and it is csrf_exempt): a cross-origin script can do nothing
# here that a plain HTML form on any page could not already do, and the answer reveals nothing
# beyond what the published form itself shows. The abuse controls are the honeypot, the signed
# render timestamp, the rate limits and Turnstile, none of which rely on the caller's origin.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Accept",
    "Access-Control-Max-Age": "86400",
}
JSON = "application/json"
FORM_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", JSON})
HONEYPOT_FIELD = "website_url"
TOKEN_FIELD = "_ts"
#: How the HTML error page names the fields the endpoint reads for itself; a form's own fields go by their labels.
_SPECIAL_LABELS = {
    HONEYPOT_FIELD: "Spam check",
    TOKEN_FIELD: "Security check",
    public_forms.TURNSTILE_FIELD: "Spam check",
    public_forms.CONSENT_FIELD: "Consent",
}
_ERROR_TITLES = {
    400: "Please check the form",
    404: "Form not found",
    413: "The form is too large",
    429: "Too many submissions",
    503: "Please try again in a moment",
}
_STORE_RETRY_AFTER = "5"
_TURNSTILE_RETRY_AFTER = "10"


@csrf_exempt
def form_submit(request: HttpRequest, component_id: UUID) -> HttpResponse:
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
    else:
        wants_json = _wants_json(request)
        try:
            response = _submit(request, component_id, wants_json)
        except Refusal as refusal:
            response = _refusal_response(request, refusal, wants_json)
    for header, value in CORS_HEADERS.items():
        response[header] = value
    return response


def _submit(request: HttpRequest, component_id: UUID, wants_json: bool) -> HttpResponse:
    if request.method != "POST":
        raise Refusal(
            405,
            "method_not_allowed",
            f"Method {request.method} is not allowed; forms are sent with POST.",
            headers={"Allow": "POST, OPTIONS"},
        )
    declared_size_check(request, limit=settings.FORM_MAX_BODY_BYTES)
    if request.content_type not in FORM_CONTENT_TYPES:
        raise Refusal(
            415,
            "unsupported_media_type",
            "Send the form as application/x-www-form-urlencoded, multipart/form-data or application/json.",
        )
    raw = _parse(request, body_read(request, limit=settings.FORM_MAX_BODY_BYTES))
    component = _form_component(component_id)
    _check_honeypot(raw)
    _check_token(raw, component)
    ip = client_ip(request)
    throttle(f"throttle_form_ip_{ip or 'unknown'}", settings.FORM_RATE_IP, what="submissions")
    throttle(f"throttle_form_form_{component.pk}", settings.FORM_RATE_FORM, what="submissions")
    try:
        cleaned = public_forms.clean_submission(component.config, raw)
    except public_forms.FormInvalid as exc:
        labels = {field["name"]: field.get("label") or field["name"] for field in component.config.get("fields", [])}
        message = "Invalid input: " + ", ".join(exc.errors) + "."
        raise Refusal(400, "validation_error", message, exc.errors, labels=labels) from None
    _check_turnstile(raw, component, ip)

    referer = _http_url(request.headers.get("Referer", ""))
    try:
        submission = form_submission_create(
            component=component,
            data=cleaned.data,
            consent_given=cleaned.consent_given,
            ip=ip,
            user_agent=request.headers.get("User-Agent", ""),
            page_url=referer,
        )
    except DatabaseError:
        log.exception("form_submission_not_stored", component_id=str(component.pk))
        raise Refusal(
            503,
            "unavailable",
            "Your submission could not be saved just now; please send it again in a moment.",
            headers={"Retry-After": _STORE_RETRY_AFTER},
        ) from None

    config = component.config
    redirect = _redirect_target(config)
    if wants_json:
        return JsonResponse(
            {
                "ok": True,
                "message": config.get("success_message", ""),
                "redirect": redirect,
                "download_url": _safe_url(config.get("download_url", "")),
                "submission_id": submission.pk,
            },
            status=201,
        )
    if redirect:
        # A path is the form's own site's, which is where the visitor came from, not this host.
        return HttpResponseRedirect(urljoin(referer, redirect) if referer else redirect, status=303)
    html = render_to_string(
        "builder/form_success.html",
        {
            "message": config.get("success_message", ""),
            "download_url": _safe_url(config.get("download_url", "")),
            "back_url": referer,
        },
    )
    return HttpResponse(html)


# --- The request ---------------------------------------------------------------------------------------


def _wants_json(request: HttpRequest) -> bool:
    if request.content_type == JSON:
        return True
    accepted = (part.split(";", 1)[0].strip().lower() for part in request.headers.get("Accept", "").split(","))
    return JSON in accepted


def _parse(request: HttpRequest, body: bytes) -> dict[str, object]:
    """The posted fields by name; a repeated form field keeps its last value, as Django's QueryDict does."""
    if request.content_type == JSON:
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):  # bad syntax or bytes, huge integers, absurd nesting
            raise Refusal(400, "parse_error", "The body is not valid JSON.") from None
        if not isinstance(parsed, dict):
            raise Refusal(400, "parse_error", "The JSON body must be an object of field names and values.")
        return parsed
    try:
        if request.content_type == "multipart/form-data":
            # The parser trusts Content-Length, absent when the body came chunked.
            meta = {**request.META, "CONTENT_LENGTH": str(len(body))}
            fields, _files = MultiPartParser(meta, BytesIO(body), request.upload_handlers, request.encoding).parse()
        else:
            fields = QueryDict(body, encoding=request.encoding)
    except (MultiPartParserError, SuspiciousOperation, ValueError):
        raise Refusal(400, "parse_error", "The form data could not be read.") from None
    return {name: fields[name] for name in fields}


def _http_url(value: str) -> str:
    """The value if it is an absolute http(s) URL, else ""."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    return value if parts.scheme in ("http", "https") and parts.netloc else ""


def _safe_url(value: object) -> str | None:
    """A URL from the form's config, checked again on the way out (configs are checked on write, but
    this page must not link to javascript: whatever is in the database)."""
    if not isinstance(value, str):
        return None
    try:
        return clean_url(value) or None
    except ValueError:
        return None


def _redirect_target(config: dict) -> str | None:
    """Only a page to go to: a mailto: or tel: link is no place to send a browser after a form."""
    url = _safe_url(config.get("redirect_url", ""))
    if url and (_http_url(url) or url.startswith(("/", "?", "#"))):
        return url
    return None


# --- The checks ----------------------------------------------------------------------------------------


FORM_LOOKUP_FIELDS = (
    "id",
    "type",
    "config",
    "workspace_id",
    "page__id",
    "page__site_id",
    "page__site__id",
    "page__site__turnstile_site_key",
    "page__site__turnstile_secret_key",
)


def _form_component(component_id: UUID) -> Component:
    # Only what the checks and the submission need: the site's theme and SEO JSON and the model's
    # default ordering made this lookup the largest part of a submission.
    component = (
        Component.objects.select_related("page__site")
        .only(*FORM_LOOKUP_FIELDS)
        .filter(pk=component_id)
        .order_by()
        .first()
    )
    if component is None:
        raise Refusal(404, "not_found", "There is no form here; it may have been removed from its page.")
    try:
        is_form = get_type(component.type).is_form
    except ConfigError:
        is_form = False
    if not is_form:
        raise Refusal(404, "not_found", "This component is not a form; only forms accept submissions.")
    return component


def _check_honeypot(raw: dict) -> None:
    """The field is in every rendered form and hidden from people: bots fill it in, or post without it."""
    value = raw.get(HONEYPOT_FIELD)
    if value == "":
        return
    problem = "This field must be sent empty." if value is None else "This field must be left empty."
    raise Refusal(
        400,
        "spam_suspected",
        f"The submission looks automated and was not accepted ({HONEYPOT_FIELD}).",
        {HONEYPOT_FIELD: [problem]},
    )


def _check_token(raw: dict, component: Component) -> None:
    token = raw.get(TOKEN_FIELD)
    try:
        age = form_token_age(token if isinstance(token, str) else "", component.pk)
    except FormTokenError as exc:
        raise Refusal(400, "invalid_token", f"{exc} ({TOKEN_FIELD})", {TOKEN_FIELD: [str(exc)]}) from None
    if age < settings.FORM_MIN_SUBMIT_SECONDS:
        problem = "The form was sent too quickly after the page loaded; wait a moment and send it again."
        raise Refusal(400, "too_fast", f"{problem} ({TOKEN_FIELD})", {TOKEN_FIELD: [problem]})


def _check_turnstile(raw: dict, component: Component, ip: str | None) -> None:
    site = component.page.site
    if not (site.turnstile_enabled and component.config.get("use_turnstile", True)):
        return
    field = public_forms.TURNSTILE_FIELD
    answer = raw.get(field)
    failed = Refusal(
        400,
        "turnstile_failed",
        f"The spam check was not passed ({field}); complete it and send the form again.",
        {field: ["Complete the spam check and send the form again."]},
    )
    if not isinstance(answer, str) or not answer.strip() or len(answer) > public_forms.TURNSTILE_TOKEN_MAX:
        raise failed
    try:
        passed = public_forms.verify_turnstile(secret=site.turnstile_secret_key, response=answer, remoteip=ip)
    except public_forms.TurnstileUnavailable:
        log.warning("turnstile_unavailable", component_id=str(component.pk), exc_info=True)
        raise Refusal(
            503,
            "turnstile_unavailable",
            "The spam check could not be completed just now; send the form again in a moment.",
            headers={"Retry-After": _TURNSTILE_RETRY_AFTER},
        ) from None
    if not passed:
        raise failed


# --- The answer ----------------------------------------------------------------------------------------


def _refusal_response(request: HttpRequest, refusal: Refusal, wants_json: bool) -> HttpResponse:
    if wants_json:
        return error_response(request, refusal.status, refusal.code, refusal.message, refusal.details, refusal.headers)
    labels = {**_SPECIAL_LABELS, **refusal.labels}
    problems = [{"label": labels.get(name, name), "messages": messages} for name, messages in refusal.details.items()]
    html = render_to_string(
        "builder/form_error.html",
        {
            "title": _ERROR_TITLES.get(refusal.status, "The form could not be sent"),
            "message": refusal.message,
            "problems": problems,
            "back_url": _http_url(request.headers.get("Referer", "")),
        },
    )
    return HttpResponse(html, status=refusal.status, headers=refusal.headers)
