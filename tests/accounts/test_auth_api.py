import pytest
from rest_framework.test import APIClient

from accounts.models import AuditAction, AuditEvent, Membership, User, Workspace
from accounts.roles import Role
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def register(client, **overrides):
    body = {"email": "ada@example.com", "password": "a-very-long-passphrase", "workspace_name": "Ada's Shop"}
    return client.post("/api/v1/auth/register/", {**body, **overrides}, format="json")


def test_register_returns_user_workspace_and_tokens(api_client):
    response = register(api_client)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["user"]["email"] == "ada@example.com"
    assert body["workspace"]["name"] == "Ada's Shop"
    assert body["workspace"]["slug"] == "adas-shop"
    assert body["access"] and body["refresh"]


def test_me_lists_workspaces_with_role(api_client):
    tokens = register(api_client).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api_client.get("/api/v1/me/").json()
    assert me["email"] == "ada@example.com"
    assert me["workspaces"] == [{**tokens["workspace"], "role": "owner"}]


# --- Register -------------------------------------------------------------------------------------


def test_register_response_has_exactly_the_documented_shape(api_client):
    body = register(api_client, email="  Grace@Example.COM ", name="Grace").json()
    assert set(body) == {"user", "workspace", "access", "refresh"}
    assert set(body["user"]) == {"id", "email", "name"}
    assert set(body["workspace"]) == {"id", "name", "slug"}
    assert body["user"]["email"] == "grace@example.com"
    assert body["user"]["name"] == "Grace"


def test_register_makes_the_user_owner_of_the_new_workspace(api_client):
    body = register(api_client).json()
    user = User.objects.get(pk=body["user"]["id"])
    assert user.check_password("a-very-long-passphrase")
    assert user.default_workspace_id == body["workspace"]["id"]
    assert Membership.objects.get(user=user).role == Role.OWNER
    assert AuditEvent.objects.filter(
        workspace_id=body["workspace"]["id"], action=AuditAction.WORKSPACE_CREATED
    ).exists()


def test_register_tokens_work(api_client):
    body = register(api_client).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert client.get("/api/v1/me/").json()["id"] == body["user"]["id"]
    assert api_client.post("/api/v1/auth/token/refresh/", {"refresh": body["refresh"]}).status_code == 200


@pytest.mark.parametrize("again", ["ada@example.com", "ADA@example.com", "  Ada@Example.Com  "])
def test_register_refuses_a_taken_email_whatever_its_case(api_client, assert_error, again):
    register(api_client)
    before = (User.objects.count(), Workspace.objects.count())
    response = register(api_client, email=again, workspace_name="Second")
    assert_error(response, 400, code="validation_error", field="email")
    assert (User.objects.count(), Workspace.objects.count()) == before


@pytest.mark.parametrize("password", ["short", "password123", "12345678901234", "ada@example.com"])
def test_register_refuses_a_weak_password(api_client, assert_error, password):
    error = assert_error(register(api_client, password=password), 400, field="password")
    assert error["details"]["password"]
    assert not User.objects.exists()
    assert not Workspace.objects.exists()


@pytest.mark.parametrize("missing", ["workspace_name", "email", "password"])
def test_register_refuses_missing_fields(api_client, assert_error, missing):
    body = {"email": "ada@example.com", "password": "a-very-long-passphrase", "workspace_name": "Shop"}
    del body[missing]
    assert_error(api_client.post("/api/v1/auth/register/", body), 400, field=missing)
    assert not User.objects.exists()


def test_register_refuses_a_blank_workspace_name(api_client, assert_error):
    assert_error(register(api_client, workspace_name="   "), 400, field="workspace_name")
    assert not User.objects.exists()


# --- Tokens -----------------------------------------------------------------------------------------


def obtain(client, email, password=DEFAULT_PASSWORD, **extra):
    return client.post("/api/v1/auth/token/", {"email": email, "password": password}, format="json", **extra)


def test_obtain_token_with_email_and_password(api_client, user):
    response = obtain(api_client, user.email)
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access", "refresh"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert client.get("/api/v1/me/").json()["email"] == user.email


def test_obtain_token_ignores_email_case(api_client, user):
    assert obtain(api_client, user.email.upper()).status_code == 200


@pytest.mark.parametrize("case", ["wrong password", "unknown email", "inactive user"])
def test_obtain_token_refuses_bad_credentials(api_client, user, assert_error, case):
    email, password = user.email, DEFAULT_PASSWORD
    if case == "wrong password":
        password = "not-the-password"
    elif case == "unknown email":
        email = "nobody@example.com"
    else:
        User.objects.filter(pk=user.pk).update(is_active=False)
    error = assert_error(obtain(api_client, email, password), 401)
    assert "access" not in error


def test_refresh_rotates_and_the_old_refresh_is_refused(api_client, user, assert_error):
    first = obtain(api_client, user.email).json()["refresh"]
    response = api_client.post("/api/v1/auth/token/refresh/", {"refresh": first})
    assert response.status_code == 200
    second = response.json()["refresh"]
    assert second != first and response.json()["access"]

    assert_error(api_client.post("/api/v1/auth/token/refresh/", {"refresh": first}), 401, code="token_not_valid")
    assert api_client.post("/api/v1/auth/token/refresh/", {"refresh": second}).status_code == 200


def test_refresh_refuses_an_access_token(api_client, user, assert_error):
    access = obtain(api_client, user.email).json()["access"]
    assert_error(api_client.post("/api/v1/auth/token/refresh/", {"refresh": access}), 401, code="token_not_valid")


def test_logout_blacklists_the_refresh_token(api_client, user, assert_error):
    refresh = obtain(api_client, user.email).json()["refresh"]
    response = api_client.post("/api/v1/auth/logout/", {"refresh": refresh})
    assert response.status_code == 204
    assert_error(api_client.post("/api/v1/auth/token/refresh/", {"refresh": refresh}), 401, code="token_not_valid")
    # Logging out twice with the same token is refused, naming the field.
    assert_error(api_client.post("/api/v1/auth/logout/", {"refresh": refresh}), 400, field="refresh")


def test_logout_refuses_garbage(api_client, assert_error):
    assert_error(api_client.post("/api/v1/auth/logout/", {"refresh": "garbage"}), 400, field="refresh")
    assert_error(api_client.post("/api/v1/auth/logout/", {}), 400, field="refresh")


# --- /me/ ---------------------------------------------------------------------------------------------


def test_me_requires_authentication(api_client, assert_error):
    assert_error(api_client.get("/api/v1/me/"), 401, code="not_authenticated")
    assert_error(api_client.patch("/api/v1/me/", {"name": "X"}), 401, code="not_authenticated")


def test_api_key_cannot_use_me(make_api_key, assert_error):
    holder = make_api_key(role=Role.ADMIN)
    assert_error(holder.client.get("/api/v1/me/"), 403, code="permission_denied")
    assert_error(holder.client.patch("/api/v1/me/", {"name": "Robot"}), 403, code="permission_denied")


def test_me_update_changes_the_name(owner):
    response = owner.client.patch("/api/v1/me/", {"name": "  New Name  "})
    assert response.status_code == 200
    assert response.json()["name"] == "New Name"
    assert User.objects.get(pk=owner.user.pk).name == "New Name"


# --- Rate limits ----------------------------------------------------------------------------------------


def test_login_is_rate_limited_per_ip(api_client, user, throttle_rates, assert_error):
    throttle_rates(auth_ip="3/min", auth_account="100/min")
    for n in range(3):
        assert obtain(api_client, f"someone{n}@example.com", "x", REMOTE_ADDR="10.0.0.1").status_code == 401
    response = obtain(api_client, user.email, REMOTE_ADDR="10.0.0.1")
    assert_error(response, 429, code="throttled")
    assert int(response["Retry-After"]) > 0
    # Another address is not affected.
    assert obtain(api_client, user.email, REMOTE_ADDR="10.0.0.2").status_code == 200


def test_login_is_rate_limited_per_account_across_addresses(api_client, user, throttle_rates, assert_error):
    throttle_rates(auth_ip="100/min", auth_account="2/min")
    assert obtain(api_client, user.email, "wrong", REMOTE_ADDR="10.0.0.1").status_code == 401
    assert obtain(api_client, user.email.upper(), "wrong", REMOTE_ADDR="10.0.0.2").status_code == 401
    response = obtain(api_client, user.email, REMOTE_ADDR="10.0.0.3")
    assert_error(response, 429, code="throttled")
    assert int(response["Retry-After"]) > 0
    # Another account from the same addresses is not affected.
    other = UserFactory()
    assert obtain(api_client, other.email, REMOTE_ADDR="10.0.0.1").status_code == 200


def test_ip_rate_limit_is_not_dodged_with_a_forged_forwarded_for(api_client, throttle_rates, assert_error):
    throttle_rates(auth_ip="2/min", auth_account="100/min")
    for n in range(2):
        obtain(api_client, f"a{n}@example.com", "x", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    response = obtain(api_client, "b@example.com", "x", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="192.0.2.77")
    assert_error(response, 429, code="throttled")


def test_register_is_rate_limited_per_ip(api_client, throttle_rates, assert_error):
    throttle_rates(auth_ip="1/min")
    assert register(api_client).status_code == 201
    assert_error(register(api_client, email="eve@example.com"), 429, code="throttled")
    assert User.objects.count() == 1


def test_refresh_is_rate_limited_per_ip(api_client, throttle_rates, assert_error):
    throttle_rates(auth_ip="2/min")
    for _ in range(2):
        api_client.post("/api/v1/auth/token/refresh/", {"refresh": "garbage"})
    assert_error(api_client.post("/api/v1/auth/token/refresh/", {"refresh": "garbage"}), 429, code="throttled")


# --- Logins in the audit log ---------------------------------------------------------------------------


def test_successful_login_is_recorded_in_each_of_the_users_workspaces(api_client, owner):
    second = MembershipFactory(user=owner.user, role=Role.VIEWER).workspace
    stranger_workspace = WorkspaceFactory()
    assert obtain(api_client, owner.user.email, REMOTE_ADDR="203.0.113.5").status_code == 200

    events = AuditEvent.objects.filter(action=AuditAction.LOGIN)
    assert sorted(events.values_list("workspace_id", flat=True)) == sorted([owner.workspace.pk, second.pk])
    assert not events.filter(workspace=stranger_workspace).exists()
    for event in events:
        assert (event.actor_id, event.actor_email, event.ip) == (owner.user.pk, owner.user.email, "203.0.113.5")
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).exists()


def test_failed_login_is_recorded_in_the_users_workspaces(api_client, owner):
    assert obtain(api_client, owner.user.email.upper(), "wrong", REMOTE_ADDR="203.0.113.6").status_code == 401

    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert (event.workspace_id, event.actor_id, event.ip) == (owner.workspace.pk, owner.user.pk, "203.0.113.6")
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN).exists()


def test_failed_login_for_an_unknown_email_writes_no_audit_event(api_client, owner):
    before = AuditEvent.objects.count()
    assert obtain(api_client, "ghost@example.com", "wrong").status_code == 401
    assert AuditEvent.objects.count() == before


def test_admin_sees_logins_in_the_audit_log(api_client, owner):
    obtain(api_client, owner.user.email, "wrong")
    obtain(api_client, owner.user.email)
    response = owner.client.get(f"/api/v1/workspaces/{owner.workspace.pk}/audit-log/?action=login&action=login_failed")
    assert [row["action"] for row in response.json()["results"]] == ["login", "login_failed"]


def test_forwarded_for_is_used_when_a_proxy_count_is_configured(api_client, settings, throttle_rates):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    throttle_rates(auth_ip="1/min", auth_account="100/min")
    for client_ip in ("192.0.2.1", "192.0.2.2"):
        response = obtain(api_client, "a@example.com", "x", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=client_ip)
        assert response.status_code == 401
    response = obtain(api_client, "a@example.com", "x", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert response.status_code == 429
