"""The Django admin: every model has a working changelist, and the outbox retry action works."""

from unittest import mock

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKey, AuditEvent, Invitation, Membership, User, Workspace
from core.models import DeliveryStatus, Event, EventDelivery
from tests.factories import ApiKeyFactory, AuditEventFactory, InvitationFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def failed_event():
    membership = MembershipFactory()
    event = Event.objects.create(
        workspace=membership.workspace, type="invitation.created", dispatched_at=timezone.now()
    )
    EventDelivery.objects.create(
        event=event,
        handler="accounts.handlers.send_invitation_email",
        status=DeliveryStatus.FAILED,
        attempts=8,
        last_error="SMTPException: down",
        completed_at=timezone.now(),
    )
    EventDelivery.objects.create(event=event, handler="other.ok", status=DeliveryStatus.SUCCEEDED, attempts=1)
    return event


@pytest.fixture
def one_of_each(failed_event):
    workspace = failed_event.workspace
    InvitationFactory(workspace=workspace)
    ApiKeyFactory(workspace=workspace)
    AuditEventFactory(workspace=workspace)
    return {
        User: User.objects.first(),
        Workspace: workspace,
        Membership: Membership.objects.first(),
        Invitation: Invitation.objects.first(),
        ApiKey: ApiKey.objects.first(),
        AuditEvent: AuditEvent.objects.first(),
        Event: failed_event,
        EventDelivery: failed_event.deliveries.first(),
    }


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_project_model_is_registered():
    for model in (User, Workspace, Membership, Invitation, ApiKey, AuditEvent, Event, EventDelivery):
        assert admin.site.is_registered(model), model


def test_every_changelist_returns_200_for_a_superuser(superuser_client, one_of_each):
    for model in admin.site._registry:
        response = superuser_client.get(admin_url(model, "changelist"))
        assert response.status_code == 200, model


def test_project_change_pages_return_200(superuser_client, one_of_each):
    for model, obj in one_of_each.items():
        response = superuser_client.get(admin_url(model, "change", obj.pk))
        assert response.status_code == 200, model


def test_hashes_are_read_only(superuser_client, one_of_each):
    for model in (Invitation, ApiKey):
        form = superuser_client.get(admin_url(model, "change", one_of_each[model].pk)).context["adminform"].form
        assert not {"token_hash", "key_hash"} & set(form.fields), model


def test_audit_log_is_read_only(superuser_client, one_of_each):
    event = one_of_each[AuditEvent]
    assert superuser_client.get(admin_url(AuditEvent, "add")).status_code == 403
    assert superuser_client.post(admin_url(AuditEvent, "change", event.pk), {"actor_email": "x"}).status_code == 403
    assert superuser_client.post(admin_url(AuditEvent, "delete", event.pk), {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.actor_email == "someone@example.com"


def test_user_admin_creates_an_email_only_user(superuser_client):
    assert superuser_client.get(admin_url(User, "add")).status_code == 200
    response = superuser_client.post(
        admin_url(User, "add"),
        {
            "email": "Staff.Person@Example.com",
            "usable_password": "true",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="staff.person@example.com")
    assert user.check_password("a-long-unusual-passphrase")


def test_retry_action_resets_a_failed_delivery(superuser_client, failed_event, django_capture_on_commit_callbacks):
    with (
        mock.patch("core.events.dispatch.enqueue_dispatch") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = superuser_client.post(
            admin_url(Event, "changelist"),
            {"action": "retry_failed_deliveries", admin.helpers.ACTION_CHECKBOX_NAME: [failed_event.pk]},
        )
    assert response.status_code == 302
    failed = failed_event.deliveries.get(handler="accounts.handlers.send_invitation_email")
    assert (failed.status, failed.attempts, failed.next_attempt_at, failed.completed_at) == (
        DeliveryStatus.PENDING,
        0,
        None,
        None,
    )
    assert failed_event.deliveries.get(handler="other.ok").status == DeliveryStatus.SUCCEEDED
    failed_event.refresh_from_db()
    assert failed_event.dispatched_at is None
    enqueue.assert_called_once_with(failed_event.pk)
