"""POST /hooks/<token>/: a valid call starts one execution; every bad call is a clear 4xx that
stores nothing."""

import base64
import datetime
import json

import pytest
from django.db import DatabaseError
from django.test import Client
from standardwebhooks import Webhook

from crm.models import Contact, ContactSource
from tests.factories import ContactFactory, WorkflowFactory, WorkflowVersionFactory
from workflows.models import Execution, ExecutionStatus, WorkflowStatus

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


def _definition(trigger_config=None, trigger_type="webhook", reentry=None):
    definition = {
        "trigger": {"type": trigger_type, "config": trigger_config or {}},
        "nodes": [{"id": "tag", "type": "add_tag", "config": {"tag": "hooked"}}],
        "edges": [{"source": "trigger", "target": "tag"}],
    }
    if reentry:
        definition["reentry"] = reentry
    return definition


def _workflow(trigger_config=None, *, status=WorkflowStatus.ACTIVE, trigger_type="webhook", reentry=None):
    definition = _definition(trigger_config, trigger_type, reentry)
    workflow = WorkflowFactory(definition=definition, hook_secret=SECRET)
    version = WorkflowVersionFactory(workflow=workflow, definition=definition)
    workflow.active_version, workflow.status, workflow.trigger_type = version, status, trigger_type
    workflow.save()
    return workflow


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)


def post(client, workflow_or_token, body, *, content_type="application/json", **headers):
    token = getattr(workflow_or_token, "hook_token", workflow_or_token)
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(f"/hooks/{token}/", data=data, content_type=content_type, headers=headers)


def signed(body: bytes, *, secret=SECRET, msg_id="msg_1", at=None) -> dict:
    at = at or datetime.datetime.now(datetime.UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
    }


def test_a_valid_call_starts_one_execution_with_the_body_as_trigger_data(client):
    workflow = _workflow()
    response = post(client, workflow, {"plan": "pro", "seats": 3}, **{"User-Agent": "Billing/1.0", "X-Secret": "no"})
    assert response.status_code == 202, response.content
    execution = Execution.objects.get()
    assert response.json() == {"execution_id": execution.pk}
    assert execution.workflow == workflow and execution.version == workflow.active_version
    assert execution.status == ExecutionStatus.PENDING and execution.contact is None
    assert execution.trigger_data == {
        "body": {"plan": "pro", "seats": 3},
        "headers": {"content-type": "application/json", "user-agent": "Billing/1.0"},
    }
    assert execution.trigger_key.startswith("hook:")


def test_the_email_in_the_body_creates_the_contact_the_execution_runs_for(client):
    workflow = _workflow()
    response = post(client, workflow, {"email": "  Grace@Example.com ", "plan": "pro"})
    assert response.status_code == 202
    contact = Contact.objects.get(workspace=workflow.workspace)
    assert contact.email == "grace@example.com" and contact.source == ContactSource.API
    assert Execution.objects.get().contact == contact


def test_an_existing_contact_is_reused(client):
    workflow = _workflow()
    contact = ContactFactory(workspace=workflow.workspace, email="grace@example.com")
    assert post(client, workflow, {"email": "grace@example.com"}).status_code == 202
    assert Contact.objects.filter(workspace=workflow.workspace).count() == 1
    assert Execution.objects.get().contact == contact


def test_the_email_field_can_reach_into_the_body(client):
    workflow = _workflow({"email_field": "data.customer.email"})
    assert post(client, workflow, {"data": {"customer": {"email": "lin@example.com"}}}).status_code == 202
    assert Execution.objects.get().contact.email == "lin@example.com"


@pytest.mark.parametrize(
    "email", ["not-an-email", "a@b@c", 42, ["x@example.com"], {"a": 1}, "x" * 300 + "@example.com"]
)
def test_an_invalid_email_is_a_400_naming_the_field_and_nothing_is_stored(client, assert_error, email):
    workflow = _workflow()
    response = post(client, workflow, {"email": email})
    assert_error(response, 400, "validation_error", field="email")
    assert not Execution.objects.exists() and not Contact.objects.exists()


@pytest.mark.parametrize("email", [None, "", False])
def test_a_blank_email_runs_without_a_contact(client, email):
    workflow = _workflow()
    body = {"other": 1} if email is False else {"email": email}
    assert post(client, workflow, body).status_code == 202
    assert Execution.objects.get().contact is None


def test_a_delivery_repeated_with_the_same_webhook_id_starts_nothing_new(client):
    workflow = _workflow()
    first = post(client, workflow, {"a": 1}, **{"webhook-id": "evt_123"})
    again = post(client, workflow, {"a": 1}, **{"webhook-id": "evt_123"})
    assert first.status_code == 202
    assert again.status_code == 200 and again.json() == {
        "execution_id": first.json()["execution_id"],
        "duplicate": True,
    }
    assert Execution.objects.get().trigger_key == "hook:evt_123"


def test_calls_without_a_webhook_id_each_start_an_execution(client):
    workflow = _workflow()
    assert post(client, workflow, {"a": 1}).status_code == 202
    assert post(client, workflow, {"a": 1}).status_code == 202
    assert Execution.objects.count() == 2


def test_the_reentry_policy_can_turn_a_contact_away(client):
    workflow = _workflow(reentry={"policy": "once"})
    assert post(client, workflow, {"email": "a@example.com"}).status_code == 202
    again = post(client, workflow, {"email": "a@example.com"})
    assert again.status_code == 200 and again.json()["execution_id"] is None
    assert Execution.objects.count() == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: "unknowntoken",
        lambda: _workflow(status=WorkflowStatus.PAUSED),
        lambda: _workflow(status=WorkflowStatus.DRAFT),
        lambda: _workflow(trigger_type="manual"),
    ],
    ids=["unknown", "paused", "draft", "not-a-webhook-trigger"],
)
def test_no_active_webhook_workflow_at_the_token_is_a_404(client, assert_error, make):
    response = post(client, make(), {"a": 1})
    assert_error(response, 404, "not_found")
    assert not Execution.objects.exists()


def test_another_workspaces_token_reaches_only_its_own_workflow(client):
    mine, theirs = _workflow(), _workflow()
    assert post(client, theirs, {"a": 1}).status_code == 202
    assert Execution.objects.get().workflow == theirs and mine.workspace != theirs.workspace


def test_a_draft_version_never_leaks_a_workflow_without_an_active_version(client, assert_error):
    workflow = WorkflowFactory(definition=_definition(), status=WorkflowStatus.ACTIVE, trigger_type="webhook")
    assert_error(post(client, workflow, {"a": 1}), 404)


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_other_methods_are_a_405(client, method):
    workflow = _workflow()
    response = getattr(client, method)(f"/hooks/{workflow.hook_token}/")
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert not Execution.objects.exists()


def test_a_body_over_the_limit_is_a_413(client, assert_error, settings):
    settings.WORKFLOW_HOOK_MAX_BYTES = 100
    workflow = _workflow()
    assert_error(post(client, workflow, {"a": "x" * 200}), 413, "payload_too_large")
    assert post(client, workflow, {"a": "x" * 80}).status_code == 202
    assert Execution.objects.count() == 1


def test_a_body_over_the_limit_without_a_declared_length_is_a_413(assert_error, settings):
    from django.test import RequestFactory

    from workflows.public_views import hook

    settings.WORKFLOW_HOOK_MAX_BYTES = 100
    workflow = _workflow()
    request = RequestFactory().post(
        f"/hooks/{workflow.hook_token}/", data="{" + '"a": 1,' * 50, content_type="application/json"
    )
    del request.META["CONTENT_LENGTH"]  # sent chunked: the size is only known by reading
    response = hook(request, workflow.hook_token)
    assert response.status_code == 413
    assert "more than 100" in json.loads(response.content)["error"]["message"]
    assert not Execution.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"[1, 2]", b'"text"', b"42", b"null", b"\xff\xfe", b"[" * 100_000],
    ids=["syntax", "empty", "array", "string", "number", "null", "not-utf8", "deep"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(client, assert_error, settings, body):
    settings.WORKFLOW_HOOK_MAX_BYTES = 200_000
    workflow = _workflow()
    assert_error(post(client, workflow, body), 400, "parse_error")
    assert not Execution.objects.exists()


def test_a_bad_content_length_is_a_400(assert_error):
    from django.test import RequestFactory

    from workflows.public_views import hook

    workflow = _workflow()
    request = RequestFactory().post(f"/hooks/{workflow.hook_token}/", data="{}", content_type="application/json")
    request.META["CONTENT_LENGTH"] = "lots"
    assert hook(request, workflow.hook_token).status_code == 400


@pytest.mark.parametrize("webhook_id", ["has space", "x" * 151, "tab\there"])
def test_an_unusable_webhook_id_is_a_400_naming_it(client, assert_error, webhook_id):
    workflow = _workflow()
    error = assert_error(post(client, workflow, {"a": 1}, **{"webhook-id": webhook_id}), 400, "validation_error")
    assert "webhook-id" in error["details"]
    assert not Execution.objects.exists()


class TestSignedCalls:
    def test_a_correctly_signed_call_starts_an_execution(self, client):
        workflow = _workflow({"hmac": True})
        body = json.dumps({"email": "s@example.com"}).encode()
        response = post(client, workflow, body, **signed(body, msg_id="msg_a"))
        assert response.status_code == 202
        execution = Execution.objects.get()
        assert execution.trigger_key == "hook:msg_a" and execution.trigger_data["headers"]["webhook-id"] == "msg_a"
        assert "webhook-signature" not in execution.trigger_data["headers"]

    @pytest.mark.parametrize(
        "tamper",
        [
            lambda body, headers: {},
            lambda body, headers: {k: v for k, v in headers.items() if k != "webhook-signature"},
            lambda body, headers: headers | {"webhook-signature": "v1,AAAA"},
            lambda body, headers: headers | {"webhook-signature": "garbage"},
            lambda body, headers: headers | {"webhook-signature": "v1,%%%not-base64"},
            lambda body, headers: headers | {"webhook-timestamp": "yesterday"},
            lambda body, headers: signed(body, secret="whsec_" + base64.b64encode(b"o" * 32).decode()),
            lambda body, headers: signed(body, at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)),
            lambda body, headers: signed(b'{"email": "other@example.com"}'),
        ],
        ids=[
            "none",
            "no-signature",
            "wrong",
            "garbage",
            "bad-base64",
            "bad-timestamp",
            "other-secret",
            "old",
            "other-body",
        ],
    )
    def test_a_missing_or_wrong_signature_is_a_401_and_nothing_is_stored(self, client, assert_error, tamper):
        workflow = _workflow({"hmac": True})
        body = json.dumps({"email": "s@example.com"}).encode()
        assert_error(post(client, workflow, body, **tamper(body, signed(body))), 401, "invalid_signature")
        assert not Execution.objects.exists() and not Contact.objects.exists()

    def test_a_signed_body_that_is_not_json_is_a_400(self, client, assert_error):
        workflow = _workflow({"hmac": True})
        assert_error(post(client, workflow, b"{oops", **signed(b"{oops")), 400, "parse_error")

    def test_a_signed_body_that_is_not_utf8_is_a_401(self, client, assert_error):
        workflow = _workflow({"hmac": True})
        headers = signed(b"{}")
        assert_error(post(client, workflow, b"\xff\xfe", **headers), 401, "invalid_signature")

    def test_without_a_secret_yet_no_call_verifies(self, client, assert_error):
        workflow = _workflow({"hmac": True})
        workflow.hook_secret = ""
        workflow.save()
        body = b"{}"
        assert_error(post(client, workflow, body, **signed(body)), 401, "invalid_signature")


def test_calls_over_the_rate_are_a_429_with_retry_after(client, assert_error, settings):
    settings.WORKFLOW_HOOK_RATE = "2/min"
    workflow = _workflow()
    assert [post(client, workflow, {"a": n}).status_code for n in range(2)] == [202, 202]
    response = post(client, workflow, {"a": 3})
    assert_error(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Execution.objects.count() == 2
    assert post(client, _workflow(), {"a": 1}).status_code == 202  # another token has its own count


def test_a_database_failure_is_a_503_to_retry(client, assert_error, monkeypatch):
    from workflows.services import executions

    def fail(**kwargs):
        raise DatabaseError("down")

    monkeypatch.setattr(executions, "execution_start", fail)
    workflow = _workflow()
    response = post(client, workflow, {"email": "x@example.com"})
    assert_error(response, 503, "unavailable")
    assert response["Retry-After"]
    assert not Contact.objects.exists()


def test_the_started_execution_runs_the_workflow(client):
    """Through the engine: the caller's contact gets the workflow's tag."""
    from workflows.engine import execution_run

    workflow = _workflow()
    assert post(client, workflow, {"email": "run@example.com"}).status_code == 202
    execution = Execution.objects.get()
    execution_run(execution_id=execution.pk)
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert list(Contact.objects.get(email="run@example.com").tags.values_list("name", flat=True)) == ["hooked"]


def test_the_url_works_without_its_trailing_slash_too(client):
    """Senders often drop it; a redirect would lose the POST."""
    workflow = _workflow()
    response = client.post(f"/hooks/{workflow.hook_token}", data="{}", content_type="application/json")
    assert response.status_code == 202
    assert Execution.objects.count() == 1


def test_a_token_of_another_shape_is_a_404(client):
    response = client.post("/hooks/" + "a" * 65 + "/", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert client.post("/hooks/bad.token/", data="{}", content_type="application/json").status_code == 404
    assert not Execution.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b'{"a": "nul\\u0000"}', b'{"a": "\\ud800"}', b'{"a": NaN}', b'{"a": [1, -Infinity]}', b'{"k\\u0000": 1}'],
    ids=["nul", "surrogate", "nan", "infinity", "nul-key"],
)
def test_a_body_the_database_cannot_store_is_a_400(client, assert_error, body):
    workflow = _workflow()
    assert_error(post(client, workflow, body), 400, "parse_error")
    assert not Execution.objects.exists()


def test_a_deeply_nested_but_valid_body_is_accepted(client):
    workflow = _workflow()
    body = "[" * 900 + "]" * 900
    assert post(client, workflow, '{"deep": ' + body + "}").status_code == 202


def test_a_call_costs_one_lookup_and_one_insert(client, django_assert_max_num_queries):
    workflow = _workflow()
    post(client, workflow, {"warm": True})
    with django_assert_max_num_queries(8):  # the lookup and the insert, in savepoints
        assert post(client, workflow, {"items": list(range(500))}).status_code == 202
