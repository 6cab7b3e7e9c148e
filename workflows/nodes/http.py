"""The http_request action: calls a URL the workflow names, through the SSRF-safe client
(workflows.net), signed per the Standard Webhooks scheme so the receiver can check it came from
this workflow and, by its webhook-id (stable per execution and node), drop a retried duplicate."""

import json
import re
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from pydantic import Field, field_validator
from standardwebhooks import Webhook

from core.templating import template_compile
from workflows import net
from workflows.nodes import register
from workflows.nodes.base import NodeConfig, NodeType, Result, StepContext, StepError, TransientStepError
from workflows.nodes.external import hook_secret_ensure, json_problem

#: RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: Headers the client sets itself, or that would let a workflow forge the signature.
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
#: Header values shown as "•••" in the step's recorded input: credentials don't belong in the monitor.
_SECRET_HEADER = re.compile(r"authorization|cookie|token|secret|key|password|signature", re.IGNORECASE)
_CHARSET = re.compile(r"charset=\"?([\w.:-]+)", re.IGNORECASE)
#: Response headers kept in the step's output.
KEPT_HEADERS = ("content-type", "content-length", "location", "retry-after", "etag", "last-modified", "x-request-id")
#: The largest body kept in the output; a longer one is cut (text) and marked truncated.
STORED_BODY_CHARS = 16_000
MAX_HEADERS = 50
MAX_BODY_DEPTH = 20


def _templates_in(value: Any, path: str, depth: int = 0) -> None:
    """Each string in a JSON value must parse as a template; ValueError naming where not."""
    if depth > MAX_BODY_DEPTH:
        raise ValueError(f"{path or 'body'} is nested more than {MAX_BODY_DEPTH} levels deep.")
    if isinstance(value, str):
        try:
            template_compile(value, field="template")
        except ValidationError as exc:
            raise ValueError(f"{path or 'body'}: {' '.join(exc.messages)}") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _templates_in(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _templates_in(item, f"{path}.{index}" if path else str(index), depth + 1)


class HttpRequestConfig(NodeConfig):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field("POST", title="Method", description="HTTP method.")
    url: str = Field(
        ..., title="URL", min_length=1, max_length=2000, description="http(s) URL; may use {{ … }} templates."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, title="Headers", description="Extra request headers; values are templates."
    )
    body: Any = Field(
        None, title="Body (JSON)", description="JSON sent as the body (not with GET); its strings are templates."
    )
    timeout: float = Field(
        10, gt=0, title="Timeout (seconds)", description="Seconds to wait for the whole answer, redirects included."
    )
    sign: bool = Field(
        True, title="Sign the request", description="Sign the request per Standard Webhooks with the workflow's secret."
    )

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_HEADERS:
            raise ValueError(f"At most {MAX_HEADERS} headers.")
        for name, item in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid header name.")
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"The {name} header is set by the request itself.")
            if "\r" in item or "\n" in item:
                raise ValueError(f"The {name} header's value can't contain line breaks.")
        _templates_in(value, "headers")
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: Any) -> Any:
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            raise ValueError("The body must be JSON data.") from None
        _templates_in(value, "")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: float) -> float:
        if value > settings.WORKFLOW_HTTP_TIMEOUT_MAX:
            raise ValueError(f"At most {settings.WORKFLOW_HTTP_TIMEOUT_MAX} seconds.")
        return value


def _render_json(ctx: StepContext, value: Any) -> Any:
    if isinstance(value, str):
        return ctx.render(value)
    if isinstance(value, dict):
        return {key: _render_json(ctx, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_render_json(ctx, item) for item in value]
    return value


def _masked(headers: dict[str, str]) -> dict[str, str]:
    return {name: "•••" if _SECRET_HEADER.search(name) else value for name, value in headers.items()}


def _body_of(fetched: net.Fetched) -> tuple[Any, bool]:
    """The answer's body as JSON if it is JSON, else as text; cut when long."""
    charset = _CHARSET.search(fetched.headers.get("content-type", ""))
    try:
        text = fetched.content.decode(charset.group(1) if charset else "utf-8", errors="replace")
    except LookupError:  # a charset Python doesn't know
        text = fetched.content.decode("utf-8", errors="replace")
    if "json" in fetched.headers.get("content-type", "") and not fetched.truncated and len(text) <= STORED_BODY_CHARS:
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            pass
        else:
            if json_problem(parsed) is None:
                return parsed, False
    # The database stores no NUL character; decoding with "replace" made no lone surrogates.
    text = text.replace("\x00", "\ufffd")
    return text[:STORED_BODY_CHARS], fetched.truncated or len(text) > STORED_BODY_CHARS


@register
class HttpRequest(NodeType):
    type = "http_request"
    kind = "action"
    name = "HTTP request"
    description = (
        "Call a URL on the internet (a webhook, an API) and keep its answer for later steps. Signed per "
        "Standard Webhooks; only public addresses can be reached."
    )
    Config = HttpRequestConfig
    side_effect = True
    template_fields = ("url",)

    def _request(self, ctx: StepContext, config: HttpRequestConfig) -> dict:
        headers = {name: ctx.render(value) for name, value in config.headers.items()}
        body = None if config.method == "GET" or config.body is None else _render_json(ctx, config.body)
        return {"method": config.method, "url": ctx.render(config.url).strip(), "headers": headers, "body": body}

    def describe_input(self, ctx: StepContext, config: HttpRequestConfig) -> dict:
        try:
            request = self._request(ctx, config)
        except StepError:  # the step itself reports the template's error
            return super().describe_input(ctx, config) | {"headers": _masked(config.headers)}
        return request | {"headers": _masked(request["headers"]), "timeout": config.timeout}

    def simulate(self, ctx: StepContext, config: HttpRequestConfig) -> Result:
        request = self._request(ctx, config)
        try:
            net.url_check(request["url"])
        except net.UnsafeURL as exc:
            raise StepError(f"The URL can't be called: {exc}") from None
        return Result(output={"simulated": True, "request": request | {"headers": _masked(request["headers"])}})

    def run(self, ctx: StepContext, config: HttpRequestConfig) -> Result:
        request = self._request(ctx, config)
        content = None
        headers = dict(request["headers"])
        if request["body"] is not None:
            content = json.dumps(request["body"], ensure_ascii=False, separators=(",", ":")).encode()
            headers.setdefault("Content-Type", "application/json")
        if config.sign and ctx.execution is not None:
            secret = hook_secret_ensure(workflow_id=ctx.execution.workflow_id)
            now = timezone.now()
            signature = Webhook(secret).sign(ctx.key, now, (content or b"").decode())
            headers |= {
                "webhook-id": ctx.key,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signature,
            }
        try:
            fetched = net.fetch(
                method=request["method"],
                url=request["url"],
                headers=headers,
                content=content,
                timeout=config.timeout,
                private_headers=frozenset(name for name in request["headers"] if _SECRET_HEADER.search(name)),
            )
        except net.FetchError as exc:
            if exc.transient:
                raise TransientStepError(str(exc)) from None
            raise StepError(f"The URL can't be called: {exc}") from None
        body, truncated = _body_of(fetched)
        output = {
            "status": fetched.status,
            "url": fetched.url,
            "headers": {
                name: fetched.headers[name].replace("\x00", "") for name in KEPT_HEADERS if name in fetched.headers
            },
            "body": body,
            "truncated": truncated,
        }
        if fetched.redirects:
            output["redirects"] = fetched.redirects
        if fetched.status >= 400:
            excerpt = body if isinstance(body, str) else json.dumps(body)
            message = f"{request['method']} {fetched.url} answered {fetched.status}: {excerpt[:300]}".rstrip(": ")
            # Overload and rate limits pass; other client errors won't change by asking again.
            if fetched.status >= 500 or fetched.status in (408, 425, 429):
                raise TransientStepError(message)
            raise StepError(message)
        return Result(output=output)
