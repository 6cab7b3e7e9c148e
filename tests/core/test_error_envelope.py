"""Every API error is one JSON envelope, {"error": {"code", "message", "details", "trace_id"}}, whose
trace_id is the X-Request-ID of the response; never an HTML page."""

import json
from unittest import mock

import pytest
from django.test import RequestFactory, override_settings
from rest_framework.test import APIClient

from accounts.models import ApiKey, AuditEvent, Invitation, Membership, User, Workspace
from accounts.roles import Role
from core.api.errors import handler500
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db


def _counts() -> dict:
    return {model.__name__: model.objects.count() for model in (User, Workspace, Membership, Invitation, ApiKey)}


def _audit_count() -> int:
    return AuditEvent.objects.count()


# --- One case per status ---------------------------------------------------------------------------------


def _validation(ctx):
    return ctx.owner.client.post(ctx.invitations, {"email": "not-an-email"}, format="json")


def _malformed_json(ctx):
    return ctx.owner.client.post(ctx.invitations, '{"email": ', content_type="application/json")


def _no_credentials(ctx):
    return APIClient().get("/api/v1/me/")


def _bad_jwt(ctx):
    return APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION="Bearer not.a.jwt")


def _bad_api_key(ctx):
    return APIClient().get(ctx.members, HTTP_AUTHORIZATION="Bearer sf_deadbeef_not-a-real-key")


def _forbidden(ctx):
    return ctx.viewer.client.patch(ctx.workspace, {"name": "Mine now"}, format="json")


def _missing_object(ctx):
    return ctx.owner.client.get(f"{ctx.members}999999/")


def _unknown_api_url(ctx):
    return ctx.owner.client.get("/api/v1/nope/")


def _unknown_api_url_outside_v1(ctx):
    return APIClient().get("/api/nope")


def _method_not_allowed(ctx):
    return ctx.owner.client.put(ctx.invitations, {"email": "a@example.com"}, format="json")


def _too_large(ctx):
    with override_settings(API_MAX_BODY_BYTES=64):
        return ctx.owner.client.post(ctx.invitations, {"email": "a" * 100 + "@example.com"}, format="json")


def _text_plain(ctx):
    return ctx.owner.client.post(ctx.invitations, "email=a@example.com", content_type="text/plain")


def _form_data(ctx):
    return ctx.owner.client.post(ctx.invitations, {"email": "a@example.com"}, format="multipart")


def _urlencoded(ctx):
    return ctx.owner.client.post(
        ctx.invitations, "email=a%40example.com", content_type="application/x-www-form-urlencoded"
    )


def _throttled(ctx):
    ctx.throttle_rates(user="2/min")
    for _ in range(2):
        assert ctx.owner.client.get("/api/v1/me/").status_code == 200
    return ctx.owner.client.get("/api/v1/me/")


def _server_error(ctx):
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(ctx.owner.user)
    with mock.patch("accounts.selectors.workspace_list_for", side_effect=RuntimeError("secret internals")):
        return client.get("/api/v1/workspaces/")


CASES = {
    "400 validation": (_validation, 400, "validation_error"),
    "400 malformed JSON": (_malformed_json, 400, "parse_error"),
    "401 no credentials": (_no_credentials, 401, "not_authenticated"),
    "401 bad JWT": (_bad_jwt, 401, "token_not_valid"),
    "401 bad API key": (_bad_api_key, 401, "invalid_api_key"),
    "403 role": (_forbidden, 403, "permission_denied"),
    "404 object": (_missing_object, 404, "not_found"),
    "404 unknown URL": (_unknown_api_url, 404, "not_found"),
    "404 unknown URL outside v1": (_unknown_api_url_outside_v1, 404, "not_found"),
    "405 PUT on a list": (_method_not_allowed, 405, "method_not_allowed"),
    "413 body too large": (_too_large, 413, "payload_too_large"),
    "415 text/plain": (_text_plain, 415, "unsupported_media_type"),
    "415 multipart form": (_form_data, 415, "unsupported_media_type"),
    "415 urlencoded form": (_urlencoded, 415, "unsupported_media_type"),
    "429 throttled": (_throttled, 429, "throttled"),
    "500 unhandled exception": (_server_error, 500, "server_error"),
}


@pytest.fixture
def ctx(make_member, throttle_rates):
    owner = make_member(role=Role.OWNER)
    base = f"/api/v1/workspaces/{owner.workspace.pk}"
    return type(
        "Ctx",
        (),
        {
            "owner": owner,
            "viewer": make_member(owner.workspace, Role.VIEWER),
            "workspace": f"{base}/",
            "members": f"{base}/members/",
            "invitations": f"{base}/invitations/",
            "throttle_rates": staticmethod(throttle_rates),
        },
    )


@pytest.mark.parametrize("case", list(CASES))
def test_error_is_the_json_envelope_with_the_request_id(case, ctx, assert_error):
    make_request, status, code = CASES[case]
    before = _counts()

    response = make_request(ctx)

    assert_error(response, status, code=code)
    assert b"<html" not in response.content.lower()
    assert _counts() == before


def test_validation_error_names_the_field_in_details_and_message(ctx, assert_error):
    error = assert_error(_validation(ctx), 400, field="email")
    assert error["details"]["email"] == ["Enter a valid email address."]
    assert error["message"] == "Invalid input: email."


def test_parse_error_says_what_is_wrong(ctx, assert_error):
    error = assert_error(_malformed_json(ctx), 400, code="parse_error")
    assert "JSON" in error["message"]


def test_unauthenticated_answers_carry_www_authenticate(ctx):
    for response in (_no_credentials(ctx), _bad_jwt(ctx), _bad_api_key(ctx)):
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_bad_jwt_message_is_a_sentence_not_a_data_structure(ctx, assert_error):
    error = assert_error(_bad_jwt(ctx), 401, code="token_not_valid")
    assert error["message"] == "Given token not valid for any token type"


def test_unknown_api_url_names_the_path(ctx, assert_error):
    error = assert_error(_unknown_api_url(ctx), 404)
    assert "/api/v1/nope/" in error["message"]


def test_throttled_answer_says_when_to_retry(ctx, assert_error):
    response = _throttled(ctx)
    assert_error(response, 429, code="throttled")
    assert 0 < int(response["Retry-After"]) <= 60


def test_server_error_hides_the_exception(ctx, assert_error):
    error = assert_error(_server_error(ctx), 500, code="server_error")
    assert "secret internals" not in str(error)
    assert error["details"] == {}


def test_server_error_handler_outside_drf_is_the_envelope():
    request = RequestFactory().get("/api/v1/anything/")
    request.request_id = "req-from-middleware-1"
    response = handler500(request)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    error = json.loads(response.content)["error"]
    assert error["code"] == "server_error"
    assert error["trace_id"] == "req-from-middleware-1"


def test_body_limit_checks_content_length_before_authentication(assert_error, db):
    with override_settings(API_MAX_BODY_BYTES=10):
        response = APIClient().post("/api/v1/auth/token/", {"email": "a@example.com", "password": "x" * 50})
    error = assert_error(response, 413, code="payload_too_large")
    assert "10" in error["message"]


def test_body_at_the_limit_is_accepted(ctx):
    body = b'{"email": "at-limit@example.com"}'
    with override_settings(API_MAX_BODY_BYTES=len(body)):
        response = ctx.owner.client.post(ctx.invitations, body, content_type="application/json")
    assert response.status_code == 201, response.content


def test_non_numeric_content_length_is_a_400(ctx, assert_error):
    response = ctx.owner.client.post(ctx.invitations, b"{}", content_type="application/json", CONTENT_LENGTH="many")
    assert_error(response, 400, code="bad_request")


# --- Request ids ------------------------------------------------------------------------------------------


def test_incoming_request_id_is_echoed_in_header_and_envelope(ctx, assert_error):
    response = ctx.owner.client.get(f"{ctx.members}999999/", HTTP_X_REQUEST_ID="trace-abc-12345678")
    assert response["X-Request-ID"] == "trace-abc-12345678"
    assert assert_error(response, 404)["trace_id"] == "trace-abc-12345678"


def test_incoming_request_id_is_echoed_on_success_too(ctx):
    response = ctx.owner.client.get(ctx.members, HTTP_X_REQUEST_ID="trace-ok-12345678")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "trace-ok-12345678"


@pytest.mark.parametrize("incoming", ["short", "has spaces in it", "x" * 200, "<script>alert(1)</script>"])
def test_malformed_request_id_is_replaced(ctx, assert_error, incoming):
    response = ctx.owner.client.get(f"{ctx.members}999999/", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] != incoming
    assert len(response["X-Request-ID"]) == 32
    assert assert_error(response, 404)["trace_id"] == response["X-Request-ID"]


def test_each_request_gets_its_own_id(ctx):
    first = _missing_object(ctx)
    second = _missing_object(ctx)
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert first.json()["error"]["trace_id"] != second.json()["error"]["trace_id"]


# --- Bad input: 400 naming the field, and nothing stored changes --------------------------------------


def _bad_inputs(ctx):
    owner = ctx.owner
    target = ctx.viewer.membership
    invitations, keys = ctx.invitations, ctx.invitations.replace("invitations", "api-keys")
    return {
        "email as a number": (lambda: owner.client.post(invitations, {"email": 12345}, format="json"), "email"),
        "email as an object": (lambda: owner.client.post(invitations, {"email": {"a": 1}}, format="json"), "email"),
        "role as a list": (
            lambda: owner.client.post(invitations, {"email": "x@example.com", "role": ["admin"]}, format="json"),
            "role",
        ),
        "unknown role on invitation": (
            lambda: owner.client.post(invitations, {"email": "x@example.com", "role": "superuser"}, format="json"),
            "role",
        ),
        "unknown role on key": (lambda: owner.client.post(keys, {"name": "K", "role": "superuser"}), "role"),
        "unknown role on member": (
            lambda: owner.client.patch(f"{ctx.members}{target.pk}/", {"role": "superuser"}, format="json"),
            "role",
        ),
        "missing role on member": (lambda: owner.client.put(f"{ctx.members}{target.pk}/", {}, format="json"), "role"),
        "missing email": (lambda: owner.client.post(invitations, {"role": "viewer"}, format="json"), "email"),
        "missing key name": (lambda: owner.client.post(keys, {"role": "viewer"}, format="json"), "name"),
        "blank key name": (lambda: owner.client.post(keys, {"name": "   "}, format="json"), "name"),
        "null key name": (lambda: owner.client.post(keys, {"name": None}, format="json"), "name"),
        "long email": (
            lambda: owner.client.post(invitations, {"email": "a" * 250 + "@example.com"}, format="json"),
            "email",
        ),
        "long key name": (lambda: owner.client.post(keys, {"name": "k" * 101}, format="json"), "name"),
        "long workspace name": (lambda: owner.client.patch(ctx.workspace, {"name": "w" * 101}, format="json"), "name"),
        "long new workspace name": (
            lambda: owner.client.post("/api/v1/workspaces/", {"name": "w" * 101}, format="json"),
            "name",
        ),
        "long profile name": (lambda: owner.client.patch("/api/v1/me/", {"name": "n" * 151}, format="json"), "name"),
        "unknown time zone": (
            lambda: owner.client.patch(ctx.workspace, {"timezone": "Mars/Base"}, format="json"),
            "timezone",
        ),
        "long time zone": (
            lambda: owner.client.patch(ctx.workspace, {"timezone": "T" * 65}, format="json"),
            "timezone",
        ),
        "user_id as text": (
            lambda: owner.client.post(f"{ctx.workspace}transfer-ownership/", {"user_id": "me"}, format="json"),
            "user_id",
        ),
        "user_id negative": (
            lambda: owner.client.post(f"{ctx.workspace}transfer-ownership/", {"user_id": -3}, format="json"),
            "user_id",
        ),
        "long invitation token": (
            lambda: owner.client.post("/api/v1/invitations/accept/", {"token": "t" * 201}, format="json"),
            "token",
        ),
    }


BAD_INPUT_NAMES = [
    "email as a number",
    "email as an object",
    "role as a list",
    "unknown role on invitation",
    "unknown role on key",
    "unknown role on member",
    "missing role on member",
    "missing email",
    "missing key name",
    "blank key name",
    "null key name",
    "long email",
    "long key name",
    "long workspace name",
    "long new workspace name",
    "long profile name",
    "unknown time zone",
    "long time zone",
    "user_id as text",
    "user_id negative",
    "long invitation token",
]


def test_bad_input_table_is_complete(ctx):
    assert list(_bad_inputs(ctx)) == BAD_INPUT_NAMES


@pytest.mark.parametrize("name", BAD_INPUT_NAMES)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(name, ctx, assert_error):
    make_request, field = _bad_inputs(ctx)[name]
    before = _counts()
    audit_before = _audit_count()
    roles_before = dict(Membership.objects.values_list("pk", "role"))
    workspace_before = Workspace.objects.values("name", "timezone").get(pk=ctx.owner.workspace.pk)
    profile_before = User.objects.values("name").get(pk=ctx.owner.user.pk)

    error = assert_error(make_request(), 400, code="validation_error", field=field)

    assert error["details"][field] and all(isinstance(m, str) for m in error["details"][field])
    assert _counts() == before
    assert _audit_count() == audit_before
    assert dict(Membership.objects.values_list("pk", "role")) == roles_before
    assert Workspace.objects.values("name", "timezone").get(pk=ctx.owner.workspace.pk) == workspace_before
    assert User.objects.values("name").get(pk=ctx.owner.user.pk) == profile_before


def test_api_key_of_another_kind_is_left_to_jwt(ctx, assert_error):
    """A bearer token that is not an API key is read as a JWT, and a bad one is still a 401 envelope."""
    ApiKeyFactory(workspace=ctx.owner.workspace)
    response = APIClient().get(ctx.members, HTTP_AUTHORIZATION="Bearer xf_not_a_key")
    assert_error(response, 401, code="token_not_valid")
