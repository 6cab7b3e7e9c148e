"""POST /hooks/<token>/: the webhook trigger's entry point, called by other systems, not browsers.

No login, no cookies (csrf-exempt): the unguessable token in the URL names the workflow, and with
the trigger's `hmac` on, a Standard Webhooks signature with the workflow's secret must match too.
Checks run cheapest first, and every refusal is the API's JSON error envelope:

- 405 any method but POST; 413 a body over WORKFLOW_HOOK_MAX_BYTES (declared or read);
- 429 over WORKFLOW_HOOK_RATE for this token, with Retry-After;
- 404 no active workflow with a webhook trigger has this token (unknown, paused, another trigger);
- 401 a missing or wrong signature when the trigger asks for one;
- 400 a body that isn't a JSON object, an unusable webhook-id, or an invalid email in the email field;
- 503 with Retry-After when the database refuses the write: nothing is stored, the sender retries.

202 `{"execution_id": n}` when an execution started. The sender's webhook-id makes the trigger key,
so a delivery repeated with the same id starts nothing new: 200 with the first one's id. 200 with
`"execution_id": null` when the workflow's re-entry policy turned the contact away.
"""

import json
import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError as PydanticValidationError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from core.api.errors import error_response
from core.logging import get_logger
from core.public_requests import Refusal, body_read, declared_size_check, throttle
from workflows.models import Workflow
from workflows.nodes.external import WebhookConfig, json_problem
from workflows.selectors import execution_for_trigger
from workflows.services.executions import execution_start_from_webhook

log = get_logger(__name__)

#: Request headers copied into the trigger data: what describes the call, never credentials.
TRIGGER_HEADERS = ("content-type", "user-agent", "webhook-id", "webhook-timestamp", "x-request-id")
_WEBHOOK_ID = re.compile(r"[\x21-\x7e]{1,150}")
_RETRY_AFTER = "5"


@never_cache
@csrf_exempt
def hook(request: HttpRequest, token: str) -> JsonResponse:
    try:
        return _hook(request, token)
    except Refusal as refusal:
        return error_response(request, refusal.status, refusal.code, refusal.message, refusal.details, refusal.headers)


def _hook(request: HttpRequest, token: str) -> JsonResponse:
    if request.method != "POST":
        raise Refusal(
            405, "method_not_allowed", f"Method {request.method} is not allowed; post JSON.", headers={"Allow": "POST"}
        )
    declared_size_check(request, limit=settings.WORKFLOW_HOOK_MAX_BYTES)
    # Counted by token before the lookup, so hammering one URL (known or not) costs no queries.
    throttle(f"throttle_hook_{token}", settings.WORKFLOW_HOOK_RATE, what="calls")
    workflow, config = _webhook_workflow(token)
    body = body_read(request, limit=settings.WORKFLOW_HOOK_MAX_BYTES)
    if config.hmac:
        _verify(workflow, body, request.headers)
    payload = _parse(body)
    email = _email_in(payload, config.email_field)
    key = _trigger_key(request.headers)
    trigger_data = {
        "body": payload,
        "headers": {name: request.headers[name] for name in TRIGGER_HEADERS if name in request.headers},
    }
    try:
        execution = execution_start_from_webhook(
            workflow=workflow, email=email, trigger_data=trigger_data, trigger_key=key
        )
    except ValidationError as exc:
        field = config.email_field
        raise Refusal(400, "validation_error", f"Invalid input: {field}.", {field: exc.message_dict["email"]}) from None
    except DatabaseError:
        log.warning("webhook_store_failed", workflow_id=workflow.pk, exc_info=True)
        raise Refusal(
            503, "unavailable", "The call could not be stored; send it again.", headers={"Retry-After": _RETRY_AFTER}
        ) from None
    if execution is not None:
        return JsonResponse({"execution_id": execution.pk}, status=202)
    earlier = execution_for_trigger(workflow=workflow, trigger_key=key)
    if earlier is not None:
        return JsonResponse({"execution_id": earlier, "duplicate": True}, status=200)
    return JsonResponse(
        {"execution_id": None, "detail": "Not started: the workflow's re-entry policy turned this contact away."},
        status=200,
    )


def _webhook_workflow(token: str) -> tuple[Workflow, WebhookConfig]:
    workflow = Workflow.objects.active().select_related("active_version", "workspace").filter(hook_token=token).first()
    trigger = (workflow.active_version.definition.get("trigger") or {}) if workflow is not None else {}
    if trigger.get("type") != "webhook":
        raise Refusal(404, "not_found", "No active workflow listens at this URL.")
    try:
        return workflow, WebhookConfig.model_validate(trigger.get("config") or {})
    except PydanticValidationError:  # checked on activation; a stored version that fails is ours to fix
        log.error("webhook_config_invalid", workflow_id=workflow.pk, exc_info=True)
        raise Refusal(404, "not_found", "No active workflow listens at this URL.") from None


def _verify(workflow: Workflow, body: bytes, headers) -> None:
    if not workflow.hook_secret:
        raise Refusal(401, "invalid_signature", "This workflow has no signing secret yet, so no call can be verified.")
    try:
        Webhook(workflow.hook_secret).verify(body, dict(headers), json_parse=False)
    except WebhookVerificationError as exc:
        raise Refusal(
            401, "invalid_signature", f"The signature doesn't verify: {exc}. Sign per Standard Webhooks."
        ) from None
    except (ValueError, TypeError):  # a malformed signature header, or a body that isn't UTF-8
        raise Refusal(
            401, "invalid_signature", "The signature headers are malformed. Sign per Standard Webhooks."
        ) from None


def _parse(body: bytes) -> dict:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # bad syntax or bytes, huge integers, absurd nesting
        raise Refusal(400, "parse_error", "The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise Refusal(400, "parse_error", "The JSON body must be an object.")
    if problem := json_problem(payload):
        raise Refusal(400, "parse_error", f"The body holds {problem}, which can't be stored.")
    return payload


def _email_in(payload: dict, path: str) -> str:
    """The email at `path` (dots reach into objects); "" when there is none."""
    value = payload
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise Refusal(400, "validation_error", f"Invalid input: {path}.", {path: ["Must be an email address (text)."]})
    return value


def _trigger_key(headers) -> str:
    sent = headers.get("webhook-id")
    if sent is None:
        return f"hook:{uuid.uuid4()}"
    if not _WEBHOOK_ID.fullmatch(sent):
        problem = "Must be 1 to 150 printable characters without spaces."
        raise Refusal(400, "validation_error", "Invalid input: webhook-id.", {"webhook-id": [problem]})
    return f"hook:{sent}"
