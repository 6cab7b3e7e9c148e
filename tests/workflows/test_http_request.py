"""The http_request step: templated request, Standard Webhooks signature, the answer kept as output,
errors sorted into transient (retried) and final. Against a local server (see http_kit)."""

import base64
import json
import time

import pytest
from django.utils import timezone
from pydantic import ValidationError as PydanticValidationError
from standardwebhooks import Webhook

from builder.components.base import errors_from_pydantic
from tests.factories import ContactFactory, ExecutionFactory, WorkflowFactory, WorkflowVersionFactory
from tests.workflows import http_kit
from tests.workflows.http_kit import PUBLIC, Reply
from workflows import net
from workflows.models import ExecutionStatus, StepRun, Workflow, WorkflowStatus
from workflows.nodes import get_node_type
from workflows.nodes.base import StepContext, StepError, TransientStepError
from workflows.nodes.http import STORED_BODY_CHARS

pytestmark = pytest.mark.django_db
server, public_net = http_kit.server, http_kit.public_net  # fixtures

HTTP = get_node_type("http_request")
URL = "http://api.example.com"


@pytest.fixture
def ctx():
    workflow = WorkflowFactory()
    execution = ExecutionFactory(version=WorkflowVersionFactory(workflow=workflow))
    contact = ContactFactory(workspace=workflow.workspace, email="ada@example.com", first_name="Ada")
    return StepContext(
        workspace=workflow.workspace,
        contact=contact,
        trigger={"order": {"id": 42, "total": 19.5}},
        steps={"tag": {"tag": "lead"}},
        node_id="call",
        now=timezone.now(),
        execution=execution,
    )


def config(**values):
    return HTTP.Config.model_validate({"url": f"{URL}/hook", **values})


def test_a_post_sends_the_rendered_json_body_headers_and_url_and_keeps_the_json_answer(public_net, ctx):
    public_net.server.routes["/orders/42"] = Reply(201, {"received": True}, headers={"X-Request-Id": "r-1"})
    result = HTTP.run(
        ctx,
        config(
            url=f"{URL}/orders/{{{{ trigger.order.id }}}}",
            headers={"X-Customer": "{{ contact.email }}"},
            body={
                "name": "{{ contact.first_name }}",
                "total": 19.5,
                "tags": ["{{ steps.tag.output.tag }}", 1],
                "n": None,
            },
        ),
    )
    seen = public_net.server.seen[0]
    assert (seen.method, seen.path) == ("POST", "/orders/42")
    assert seen.headers["X-Customer"] == "ada@example.com"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.json() == {"name": "Ada", "total": 19.5, "tags": ["lead", 1], "n": None}
    assert result.output == {
        "status": 201,
        "url": f"{URL}/orders/42",
        "headers": {"content-type": "application/json", "content-length": "18", "x-request-id": "r-1"},
        "body": {"received": True},
        "truncated": False,
    }
    assert result.port is None


def test_the_request_is_signed_per_standard_webhooks_with_a_secret_made_on_first_use(public_net, ctx):
    public_net.server.routes["/hook"] = Reply(200, "ok")
    assert Workflow.objects.get(pk=ctx.execution.workflow_id).hook_secret == ""
    HTTP.run(ctx, config(body={"a": "b"}))
    secret = Workflow.objects.get(pk=ctx.execution.workflow_id).hook_secret
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    seen = public_net.server.seen[0]
    assert seen.headers["webhook-id"] == ctx.key == f"workflow:{ctx.execution.pk}:call"
    assert Webhook(secret).verify(seen.body, seen.headers) == {"a": "b"}
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(seen.body, seen.headers)


def test_a_retried_step_carries_the_same_webhook_id_and_secret(public_net, ctx):
    public_net.server.routes["/hook"] = Reply(200, "ok")
    HTTP.run(ctx, config())
    HTTP.run(ctx, config())
    first, second = public_net.server.seen
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == ctx.key
    secret = Workflow.objects.get(pk=ctx.execution.workflow_id).hook_secret
    for seen in (first, second):
        assert Webhook(secret).verify(seen.body, seen.headers, json_parse=False) is None


def test_an_existing_secret_is_kept(public_net, ctx):
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    Workflow.objects.filter(pk=ctx.execution.workflow_id).update(hook_secret=secret)
    public_net.server.routes["/hook"] = Reply(200, "ok")
    HTTP.run(ctx, config(body={"x": 1}))
    assert Workflow.objects.get(pk=ctx.execution.workflow_id).hook_secret == secret
    seen = public_net.server.seen[0]
    assert Webhook(secret).verify(seen.body, seen.headers) == {"x": 1}


def test_signing_can_be_turned_off(public_net, ctx):
    public_net.server.routes["/hook"] = Reply(200, "ok")
    HTTP.run(ctx, config(sign=False))
    assert not {"webhook-id", "webhook-signature", "webhook-timestamp"} & set(
        map(str.lower, public_net.server.seen[0].headers)
    )
    assert Workflow.objects.get(pk=ctx.execution.workflow_id).hook_secret == ""


def test_a_get_sends_no_body_and_keeps_a_text_answer(public_net, ctx):
    public_net.server.routes["/hook"] = Reply(200, "plain words")
    result = HTTP.run(ctx, config(method="GET", body={"ignored": True}))
    seen = public_net.server.seen[0]
    assert seen.method == "GET" and seen.body == b""
    assert result.output["body"] == "plain words" and result.output["truncated"] is False


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_are_sent_as_configured(public_net, ctx, method):
    public_net.server.routes["/hook"] = Reply(204)
    result = HTTP.run(ctx, config(method=method, body={"a": 1}))
    assert public_net.server.seen[0].method == method
    assert result.output["status"] == 204 and result.output["body"] == ""


def test_a_long_answer_is_stored_cut_and_marked(public_net, ctx):
    public_net.server.routes["/hook"] = Reply(200, "x" * (STORED_BODY_CHARS + 500))
    output = HTTP.run(ctx, config()).output
    assert len(output["body"]) == STORED_BODY_CHARS and output["truncated"] is True


def test_a_large_json_answer_is_stored_as_cut_text(public_net, ctx):
    public_net.server.routes["/hook"] = Reply(200, {"items": ["y" * 100] * 500})
    output = HTTP.run(ctx, config()).output
    assert isinstance(output["body"], str) and output["truncated"] is True


def test_an_answer_claiming_json_that_is_not_is_kept_as_text(public_net, ctx):
    public_net.server.routes["/hook"] = Reply(200, b"{not json", headers={"Content-Type": "application/json"})
    assert HTTP.run(ctx, config()).output["body"] == "{not json"


def test_redirects_are_followed_and_listed(public_net, ctx):
    public_net.server.routes["/hook"] = Reply(303, headers={"Location": "/done"})
    public_net.server.routes["/done"] = Reply(200, {"done": True})
    output = HTTP.run(ctx, config(body={"a": 1})).output
    assert output["status"] == 200 and output["body"] == {"done": True}
    assert output["redirects"] == [f"{URL}/done"] and output["url"] == f"{URL}/done"
    assert [(seen.method, seen.path) for seen in public_net.server.seen] == [("POST", "/hook"), ("GET", "/done")]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_a_client_error_fails_the_step_for_good_naming_the_status(public_net, ctx, status):
    public_net.server.routes["/hook"] = Reply(status, {"error": "nope"})
    with pytest.raises(StepError) as caught:
        HTTP.run(ctx, config())
    assert not isinstance(caught.value, TransientStepError)
    assert f"answered {status}" in str(caught.value) and "nope" in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 408])
def test_a_server_error_or_rate_limit_is_transient(public_net, ctx, status):
    public_net.server.routes["/hook"] = Reply(status, "busy")
    with pytest.raises(TransientStepError, match=f"answered {status}"):
        HTTP.run(ctx, config())


def test_a_slow_answer_is_a_transient_timeout(public_net, ctx):
    public_net.server.routes["/hook"] = Reply(200, "late", delay=1.5)
    with pytest.raises(TransientStepError, match=r"within 0\.3 seconds"):
        HTTP.run(ctx, config(timeout=0.3))


def test_a_refused_connection_is_transient(public_net, ctx, monkeypatch):
    from workflows import net

    def refuse(address, port, *, timeout, socket_options=None):
        return net.httpcore.SyncBackend().connect_tcp("127.0.0.1", 9, timeout=timeout)

    monkeypatch.setattr(net, "tcp_connect", refuse)
    with pytest.raises(TransientStepError, match="request failed"):
        HTTP.run(ctx, config())


def test_a_template_error_in_the_url_or_body_is_the_steps_error(public_net, ctx):
    with pytest.raises(StepError, match="Template error"):
        HTTP.run(ctx, config(body={"a": "{{ contact.first_name + 1 }}"}))
    assert public_net.server.seen == []


def test_a_dry_run_shows_the_request_without_sending_it_and_hides_credentials(public_net, ctx):
    ctx.execution, ctx.dry_run = None, True
    result = HTTP.simulate(
        ctx,
        config(
            url=f"{URL}/o/{{{{ trigger.order.id }}}}",
            headers={"Authorization": "Bearer s3cret", "X-Api-Key": "k", "X-Plain": "{{ contact.first_name }}"},
            body={"total": "{{ trigger.order.total }}"},
        ),
    )
    assert result.output == {
        "simulated": True,
        "request": {
            "method": "POST",
            "url": f"{URL}/o/42",
            "headers": {"Authorization": "•••", "X-Api-Key": "•••", "X-Plain": "Ada"},
            "body": {"total": "19.5"},
        },
    }
    assert public_net.server.seen == [] and public_net.connected == []


def test_the_recorded_input_is_the_rendered_request_with_credentials_hidden(ctx):
    recorded = HTTP.describe_input(ctx, config(headers={"Cookie": "a=b", "Accept": "text/plain"}, timeout=5))
    assert recorded == {
        "method": "POST",
        "url": f"{URL}/hook",
        "headers": {"Cookie": "•••", "Accept": "text/plain"},
        "body": None,
        "timeout": 5,
    }
    assert "Template" not in json.dumps(HTTP.describe_input(ctx, config(url="{{ contact.first_name + 1 }}")))


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"url": ""}, "config.url"),
        ({"url": "x" * 2001}, "config.url"),
        ({"method": "TRACE"}, "config.method"),
        ({"timeout": 0}, "config.timeout"),
        ({"timeout": 31}, "config.timeout"),
        ({"timeout": "soon"}, "config.timeout"),
        ({"headers": {"Bad Header": "x"}}, "config.headers"),
        ({"headers": {"Host": "evil.example.com"}}, "config.headers"),
        ({"headers": {"webhook-signature": "v1,forged"}}, "config.headers"),
        ({"headers": {"X-A": "line\r\nInjected: 1"}}, "config.headers"),
        ({"headers": {"X-A": 5}}, "config.headers.X-A"),
        ({"headers": {"X-A": "{{ unclosed"}}, "config.headers"),
        ({"headers": {f"X-{n}": "v" for n in range(51)}}, "config.headers"),
        ({"body": {"a": "{% import 'x' as y %}"}}, "config.body"),
        ({"body": {"a": float("nan")}}, "config.body"),
        ({"sign": "sometimes"}, "config.sign"),
        ({"extra": 1}, "config.extra"),
    ],
)
def test_a_bad_config_is_refused_naming_the_field(values, field):
    with pytest.raises(PydanticValidationError) as caught:
        HTTP.Config.model_validate({"url": f"{URL}/hook", **values})
    assert field in errors_from_pydantic(caught.value), errors_from_pydantic(caught.value)


def test_a_templated_body_naming_where_the_template_breaks():
    with pytest.raises(PydanticValidationError) as caught:
        HTTP.Config.model_validate({"url": URL, "body": {"items": [{"name": "{{ oops"}]}})
    assert "items.0.name" in str(caught.value)


def test_the_connection_went_to_the_public_test_address(public_net, ctx):
    public_net.server.routes["/hook"] = Reply(200, "ok")
    HTTP.run(ctx, config())
    assert public_net.connected == [(PUBLIC, 80)]


def test_a_server_dripping_its_answer_is_cut_off_at_the_total_timeout(public_net, ctx):
    public_net.server.routes["/hook"] = Reply(200, "x" * 20, delay=0.15, pieces=20)
    started = time.monotonic()
    with pytest.raises(TransientStepError, match="within 1 seconds"):
        HTTP.run(ctx, config(timeout=1))
    assert time.monotonic() - started < 2


def test_an_answer_over_the_read_cap_is_cut_there(public_net, ctx, monkeypatch):
    monkeypatch.setattr(net, "MAX_BODY_BYTES", 1000)
    public_net.server.routes["/hook"] = Reply(200, "z" * 50_000)
    output = HTTP.run(ctx, config()).output
    assert output["truncated"] is True and len(output["body"]) <= 1000


def test_a_307_redirect_repeats_the_signed_post_with_its_body(public_net, ctx):
    public_net.server.routes["/hook"] = Reply(307, headers={"Location": "http://other.example.com/moved"})
    public_net.server.routes["/moved"] = Reply(200, "ok")
    HTTP.run(ctx, config(body={"k": "v"}))
    first, second = public_net.server.seen
    assert (second.method, second.path, second.body) == ("POST", "/moved", first.body)
    assert second.headers["Host"] == "other.example.com"
    secret = Workflow.objects.get(pk=ctx.execution.workflow_id).hook_secret
    assert Webhook(secret).verify(second.body, second.headers) == {"k": "v"}


def _http_workflow(url: str, **config_values):
    definition = {
        "trigger": {"type": "manual", "config": {}},
        "nodes": [{"id": "call", "type": "http_request", "config": {"url": url, **config_values}}],
        "edges": [{"source": "trigger", "target": "call"}],
    }
    workflow = WorkflowFactory(definition=definition)
    version = WorkflowVersionFactory(workflow=workflow, definition=definition)
    workflow.active_version, workflow.status = version, WorkflowStatus.ACTIVE
    workflow.save()
    return workflow


def test_through_the_engine_the_answer_becomes_the_steps_output(public_net):
    from workflows.engine import execution_run
    from workflows.services.executions import execution_start

    public_net.server.routes["/hook"] = Reply(200, {"id": "abc"})
    workflow = _http_workflow(f"{URL}/hook", headers={"Authorization": "Bearer s3cret"}, body={"p": "{{ trigger.p }}"})
    execution = execution_start(workflow=workflow, trigger_data={"p": "hello"})
    execution_run(execution_id=execution.pk)
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    step = StepRun.objects.get(execution=execution, node_id="call")
    assert step.output["body"] == {"id": "abc"} and step.output["status"] == 200
    assert step.input["headers"] == {"Authorization": "•••"} and step.input["body"] == {"p": "hello"}
    seen = public_net.server.seen[0]
    assert seen.headers["Authorization"] == "Bearer s3cret"
    assert seen.headers["webhook-id"] == f"workflow:{execution.pk}:call"


def test_through_the_engine_a_server_error_is_retried_later_and_a_client_error_fails(public_net):
    from workflows.engine import execution_run
    from workflows.services.executions import execution_start

    public_net.server.routes["/busy"] = Reply(503, "try later")
    public_net.server.routes["/gone"] = Reply(410, "gone for good")
    busy = execution_start(workflow=_http_workflow(f"{URL}/busy"), trigger_data={})
    gone = execution_start(workflow=_http_workflow(f"{URL}/gone"), trigger_data={})
    execution_run(execution_id=busy.pk)
    execution_run(execution_id=gone.pk)
    busy.refresh_from_db()
    gone.refresh_from_db()
    assert busy.status == ExecutionStatus.WAITING and busy.resume_at is not None
    assert gone.status == ExecutionStatus.FAILED and "answered 410" in gone.error


def test_through_the_engine_an_internal_url_fails_the_execution_for_good(public_net):
    from workflows.engine import execution_run
    from workflows.services.executions import execution_start

    execution = execution_start(workflow=_http_workflow("http://169.254.169.254/latest/meta-data/"), trigger_data={})
    execution_run(execution_id=execution.pk)
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.FAILED and "link-local" in execution.error
    assert public_net.connected == []


def test_a_dry_run_of_the_workflow_simulates_the_call(public_net):
    from workflows.services.executions import workflow_dry_run

    workflow = _http_workflow(f"{URL}/hook", body={"p": "{{ trigger.p }}"})
    result = workflow_dry_run(workspace=workflow.workspace, definition=workflow.definition, trigger_data={"p": "x"})
    assert result["status"] == "succeeded", result
    step = next(step for step in result["steps"] if step["node_id"] == "call")
    assert step["output"]["simulated"] is True and step["output"]["request"]["body"] == {"p": "x"}
    assert public_net.server.seen == [] and public_net.connected == []


@pytest.mark.parametrize(
    ("config_values", "path"),
    [
        ({"timeout": 999}, "nodes.call.config.timeout"),
        ({"url": "{{ oops"}, "nodes.call.config.url"),
        ({"headers": {"Host": "x"}}, "nodes.call.config.headers"),
        ({"method": "BREW"}, "nodes.call.config.method"),
    ],
)
def test_a_definition_with_a_bad_http_request_names_the_node_and_field(config_values, path):
    from django.core.exceptions import ValidationError

    from workflows.definition import definition_clean

    definition = {
        "trigger": {"type": "manual", "config": {}},
        "nodes": [{"id": "call", "type": "http_request", "config": {"url": f"{URL}/hook", **config_values}}],
        "edges": [{"source": "trigger", "target": "call"}],
    }
    with pytest.raises(ValidationError) as caught:
        definition_clean(definition)
    assert path in caught.value.message_dict, caught.value.message_dict


def test_credentials_are_not_forwarded_to_another_origin_on_a_redirect(public_net, ctx):
    public_net.server.routes["/hook"] = Reply(302, headers={"Location": "http://other.example.com/elsewhere"})
    public_net.server.routes["/elsewhere"] = Reply(302, headers={"Location": "http://other.example.com/end"})
    public_net.server.routes["/end"] = Reply(200, "ok")
    headers = {"Authorization": "Bearer a", "X-Api-Key": "k", "X-Trace": "t"}
    HTTP.run(ctx, config(method="GET", headers=headers))
    first, second, third = (seen.headers for seen in public_net.server.seen)
    assert (first["Authorization"], first["X-Api-Key"], first["X-Trace"]) == ("Bearer a", "k", "t")
    for later in (second, third):
        assert "Authorization" not in later and "X-Api-Key" not in later and later["X-Trace"] == "t"


def test_credentials_stay_on_a_redirect_within_the_origin(public_net, ctx):
    public_net.server.routes["/hook"] = Reply(302, headers={"Location": "/next"})
    public_net.server.routes["/next"] = Reply(200, "ok")
    HTTP.run(ctx, config(method="GET", headers={"X-Api-Key": "k"}))
    assert public_net.server.seen[1].headers["X-Api-Key"] == "k"


@pytest.mark.parametrize(
    ("content_type", "payload", "text"),
    [
        ("text/plain; charset=iso-8859-1", "café".encode("latin-1"), "café"),
        ("text/plain; charset=utf-8", "café".encode(), "café"),
        ("text/plain", "café".encode(), "café"),
        ('text/plain; charset="nonsense-9"', b"caf\xc3\xa9", "café"),
        ("application/octet-stream", b"\xff\xfe\x00", "\ufffd\ufffd\ufffd"),
    ],
)
def test_a_text_answer_is_decoded_by_its_charset(public_net, ctx, content_type, payload, text):
    public_net.server.routes["/hook"] = Reply(200, payload, headers={"Content-Type": content_type})
    assert HTTP.run(ctx, config()).output["body"] == text


@pytest.mark.parametrize(
    "payload",
    [b'{"a": "nul\\u0000"}', b'{"a": "\\ud800"}', b'{"a": NaN}', b'{"a": Infinity}', b'{"nul\\u0000": 1}'],
)
def test_a_json_answer_the_database_cannot_store_is_kept_as_text(public_net, ctx, payload):
    public_net.server.routes["/hook"] = Reply(200, payload, headers={"Content-Type": "application/json"})
    body = HTTP.run(ctx, config()).output["body"]
    assert isinstance(body, str) and "\x00" not in body
    body.encode("utf-8")


def test_through_the_engine_an_answer_with_null_characters_is_stored(public_net):
    from workflows.engine import execution_run
    from workflows.services.executions import execution_start

    public_net.server.routes["/hook"] = Reply(
        200, b'{"a": "\\u0000"}', headers={"Content-Type": "application/json", "X-Request-Id": "r"}
    )
    execution = execution_start(workflow=_http_workflow(f"{URL}/hook"), trigger_data={})
    execution_run(execution_id=execution.pk)
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert StepRun.objects.get(execution=execution, node_id="call").output["body"] == '{"a": "\\u0000"}'
