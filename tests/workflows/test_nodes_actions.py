"""Action node types: what each does to the contact and the email ledger, its ports, its dry run
(simulated, nothing written), and its failures as step errors."""

import pytest
from django.core.exceptions import ValidationError

from accounts.roles import Role
from campaigns.models import EmailSend, SendingSettings, SendKind, SendStatus
from crm.models import ActivityKind, ContactActivity, ContactStatus, ContactTag, CustomFieldType, ScoreChange, Tag
from tests.factories import (
    ContactFactory,
    CustomFieldFactory,
    ExecutionFactory,
    MembershipFactory,
    SenderFactory,
    TagFactory,
    WorkflowFactory,
    WorkspaceFactory,
)
from tests.workflows.steps import ports_of, run_node, step_context
from workflows.definition import definition_clean
from workflows.nodes import get_node_type
from workflows.nodes.actions import UNSUBSCRIBE_PLACEHOLDER
from workflows.nodes.base import StepError

pytestmark = pytest.mark.django_db

WELCOME = {
    "subject": "Welcome, {{ contact.first_name | default('there') }}",
    "content": "<p>Hi {{ contact.first_name }}, thanks for joining {{ workspace.name }}.</p>"
    "<p>You asked about {{ trigger.data.topic }}.</p>",
}


@pytest.fixture
def workspace():
    workspace = WorkspaceFactory(name="Northwind")
    SendingSettings.objects.create(workspace=workspace, postal_address="1 Harbour Road\nPortsmouth")
    return workspace


@pytest.fixture
def contact(workspace):
    return ContactFactory(workspace=workspace, email="ada@example.com", first_name="Ada", score=10)


@pytest.fixture
def execution(workspace, contact):
    return ExecutionFactory(version__workflow__workspace=workspace, contact=contact)


def ctx_for(workspace, contact, execution=None, **kwargs):
    kwargs.setdefault("node_id", "step")
    return step_context(workspace, contact=contact, execution=execution, **kwargs)


def tags_of(contact) -> set[str]:
    return set(ContactTag.objects.filter(contact=contact).values_list("tag__name", flat=True))


# --- Ports and registration -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "config", "ports"),
    [
        ("send_email", WELCOME, ["out"]),
        ("add_tag", {"tag": "x"}, ["out"]),
        ("remove_tag", {"tag": "x"}, ["out"]),
        ("update_field", {"field": "company"}, ["out"]),
        ("adjust_score", {"points": 5}, ["out"]),
        ("add_note", {"text": "x"}, ["out"]),
        ("notify_team", {"roles": ["owner"], "subject": "x"}, ["out"]),
        ("enroll_workflow", {"workflow": 1}, ["out"]),
        ("exit", {}, []),
    ],
)
def test_action_ports(type_name, config, ports):
    assert get_node_type(type_name).kind == "action"
    assert ports_of(type_name, config) == ports


@pytest.mark.parametrize(
    "type_name",
    [
        "send_email",
        "add_tag",
        "remove_tag",
        "update_field",
        "adjust_score",
        "add_note",
        "notify_team",
        "enroll_workflow",
    ],
)
def test_every_action_with_an_effect_is_simulated_in_a_dry_run(type_name):
    assert get_node_type(type_name).side_effect is True


def test_exit_has_no_effect_and_ends_the_execution(workspace):
    assert get_node_type("exit").side_effect is False
    result = run_node("exit", {}, ctx_for(workspace, None))
    assert result.exit is True


# --- send_email -----------------------------------------------------------------------------------------------


def test_send_email_puts_one_rendered_message_on_the_ledger(workspace, contact, execution):
    ctx = ctx_for(workspace, contact, execution, node_id="welcome", trigger={"data": {"topic": "pricing"}})
    result = run_node("send_email", WELCOME, ctx)
    send = EmailSend.objects.get()
    assert result.output == {"send_id": send.pk, "status": "queued", "to": "ada@example.com", "subject": "Welcome, Ada"}
    assert result.port is None and result.wait_until is None
    assert send.kind == SendKind.WORKFLOW
    assert send.idempotency_key == f"workflow:{execution.pk}:welcome" == send.ref
    assert send.contact == contact
    assert "Hi Ada, thanks for joining Northwind." in send.body["text"]
    assert "You asked about pricing." in send.body["text"]
    assert "Hi Ada" in send.body["html"]
    # A marketing message carries the workspace's address and its own unsubscribe link.
    assert "1 Harbour Road" in send.body["text"]
    assert f"/u/{send.token}/" in send.body["html"] and f"/u/{send.token}/" in send.body["text"]
    assert UNSUBSCRIBE_PLACEHOLDER not in send.body["html"] + send.body["text"]


def test_send_email_run_again_for_the_same_step_sends_nothing_more(workspace, contact, execution):
    ctx = ctx_for(workspace, contact, execution, node_id="welcome")
    first = run_node("send_email", WELCOME, ctx)
    again = run_node("send_email", {**WELCOME, "subject": "Changed"}, ctx)
    assert EmailSend.objects.count() == 1
    assert again.output["send_id"] == first.output["send_id"]
    assert again.output["subject"] == "Welcome, Ada"


def test_send_email_from_another_node_or_execution_is_another_message(workspace, contact, execution):
    run_node("send_email", WELCOME, ctx_for(workspace, contact, execution, node_id="a"))
    run_node("send_email", WELCOME, ctx_for(workspace, contact, execution, node_id="b"))
    other = ExecutionFactory(version__workflow__workspace=workspace, contact=contact)
    run_node("send_email", WELCOME, ctx_for(workspace, contact, other, node_id="a"))
    assert EmailSend.objects.count() == 3


def test_send_email_to_an_unsubscribed_contact_is_recorded_as_skipped(workspace, contact, execution):
    contact.status = ContactStatus.UNSUBSCRIBED
    contact.save()
    result = run_node("send_email", WELCOME, ctx_for(workspace, contact, execution))
    assert result.output["status"] == SendStatus.SKIPPED
    assert EmailSend.objects.get().status == SendStatus.SKIPPED


def test_transactional_send_email_reaches_an_unsubscribed_contact_without_a_footer(workspace, contact, execution):
    contact.status = ContactStatus.UNSUBSCRIBED
    contact.save()
    result = run_node("send_email", {**WELCOME, "kind": "transactional"}, ctx_for(workspace, contact, execution))
    send = EmailSend.objects.get()
    assert result.output["status"] == SendStatus.QUEUED
    assert send.kind == SendKind.TRANSACTIONAL
    assert "1 Harbour Road" not in send.body["text"] and "/u/" not in send.body["html"]


def test_send_email_from_a_verified_sender(workspace, contact, execution):
    sender = SenderFactory(workspace=workspace, from_name="Ada at Northwind", from_email="ada@northwind.example")
    run_node("send_email", {**WELCOME, "sender": sender.pk}, ctx_for(workspace, contact, execution))
    assert EmailSend.objects.get().from_email == "Ada at Northwind <ada@northwind.example>"


def test_send_email_from_an_unverified_or_missing_sender_fails_the_step(workspace, contact, execution):
    pending = SenderFactory(workspace=workspace, status="pending", verified_at=None)
    with pytest.raises(StepError, match="sender"):
        run_node("send_email", {**WELCOME, "sender": pending.pk}, ctx_for(workspace, contact, execution))
    theirs = SenderFactory()
    with pytest.raises(StepError, match="sender"):
        run_node("send_email", {**WELCOME, "sender": theirs.pk}, ctx_for(workspace, contact, execution, node_id="x"))
    assert not EmailSend.objects.exists()


def test_send_email_without_a_contact_fails_the_step(workspace, execution):
    with pytest.raises(StepError, match="needs a contact"):
        run_node("send_email", WELCOME, ctx_for(workspace, None, execution))


def test_send_email_whose_template_fails_at_render_fails_the_step(workspace, contact, execution):
    config = {**WELCOME, "subject": "{{ 10 ** 100000 }}"}
    with pytest.raises(StepError, match="Template error"):
        run_node("send_email", config, ctx_for(workspace, contact, execution))
    assert not EmailSend.objects.exists()


def test_send_email_with_a_subject_blank_for_this_contact_fails_the_step(workspace, execution):
    contact = ContactFactory(workspace=workspace, first_name="")
    with pytest.raises(StepError, match="subject is empty"):
        run_node(
            "send_email", {**WELCOME, "subject": "{{ contact.first_name }}"}, ctx_for(workspace, contact, execution)
        )


def test_send_email_shortens_a_subject_that_contact_data_makes_too_long(workspace, execution):
    from campaigns.delivery.sending import SUBJECT_MAX

    contact = ContactFactory(workspace=workspace, custom_fields={"bio": "word " * 400})
    result = run_node(
        "send_email", {**WELCOME, "subject": "About you: {{ contact.bio }}"}, ctx_for(workspace, contact, execution)
    )
    send = EmailSend.objects.get()
    assert len(send.subject) <= SUBJECT_MAX and send.subject.endswith("…")
    assert result.output["subject"] == send.subject


def test_send_email_content_is_sanitised_when_saved():
    clean = definition_clean(
        {
            "trigger": {"type": "manual"},
            "nodes": [
                {
                    "id": "mail",
                    "type": "send_email",
                    "config": {"subject": "Hi", "content": '<p onclick="x()">Hi</p><script>alert(1)</script>'},
                }
            ],
            "edges": [{"source": "trigger", "target": "mail"}],
        }
    )
    content = clean["nodes"][0]["config"]["content"]
    assert "script" not in content and "onclick" not in content and "Hi" in content


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"content": "<p>x</p>"}, "subject"),
        ({"subject": "", "content": "<p>x</p>"}, "subject"),
        ({"subject": "x" * 301, "content": "<p>x</p>"}, "subject"),
        ({"subject": "Hi", "content": ""}, "content"),
        ({"subject": "Hi", "content": "<script></script>"}, "content"),
        ({"subject": "Hi", "content": "<p>x</p>", "kind": "campaign"}, "kind"),
        ({"subject": "Hi", "content": "<p>x</p>", "sender": 0}, "sender"),
        ({"subject": "Hi", "content": "<p>x</p>", "sender": "me"}, "sender"),
    ],
)
def test_send_email_config_errors_name_the_field(config, field):
    node = {"id": "mail", "type": "send_email", "config": config}
    with pytest.raises(ValidationError) as caught:
        definition_clean(
            {"trigger": {"type": "manual"}, "nodes": [node], "edges": [{"source": "trigger", "target": "mail"}]}
        )
    assert f"nodes.mail.config.{field}" in caught.value.message_dict


def test_send_email_dry_run_shows_the_message_and_sends_nothing(workspace, contact):
    ctx = ctx_for(workspace, contact, dry_run=True, trigger={"data": {"topic": "SEO"}})
    result = run_node("send_email", WELCOME, ctx)
    assert result.output["simulated"] is True
    assert result.output["to"] == "ada@example.com"
    assert result.output["subject"] == "Welcome, Ada"
    assert "You asked about SEO." in result.output["text"]
    assert "<html" in result.output["html"]
    assert not EmailSend.objects.exists()


def test_send_email_compiles_a_message_once_for_many_contacts(workspace, execution):
    from workflows.nodes.actions import _compiled_email

    _compiled_email.cache_clear()
    for index in range(3):
        contact = ContactFactory(workspace=workspace)
        run_node("send_email", WELCOME, ctx_for(workspace, contact, execution, node_id=f"n{index}"))
    assert _compiled_email.cache_info().misses == 1
    assert _compiled_email.cache_info().hits == 2


# --- Tags -----------------------------------------------------------------------------------------------------


def test_add_tag_tags_the_contact_once_and_records_it(workspace, contact):
    result = run_node("add_tag", {"tag": "Lead"}, ctx_for(workspace, contact))
    assert result.output == {"tag": "Lead", "added": True}
    assert tags_of(contact) == {"Lead"}
    again = run_node("add_tag", {"tag": "lead"}, ctx_for(workspace, contact))
    assert again.output["added"] is False
    assert Tag.objects.filter(workspace=workspace).count() == 1
    assert ContactActivity.objects.filter(contact=contact, kind=ActivityKind.TAG_ADDED, source="workflow").count() == 1


def test_add_tag_renders_a_template_name(workspace, contact):
    ctx = ctx_for(workspace, contact, trigger={"data": {"interest": "  Webinars "}})
    run_node("add_tag", {"tag": "interest: {{ trigger.data.interest | trim | lower }}"}, ctx)
    assert tags_of(contact) == {"interest: webinars"}


def test_add_tag_whose_name_renders_empty_fails_the_step(workspace, contact):
    with pytest.raises(StepError, match="tags"):
        run_node("add_tag", {"tag": "{{ trigger.nothing }}"}, ctx_for(workspace, contact))


def test_remove_tag_untags_the_contact_and_tolerates_an_absent_tag(workspace, contact):
    ContactTag.objects.create(workspace=workspace, contact=contact, tag=TagFactory(workspace=workspace, name="Trial"))
    assert run_node("remove_tag", {"tag": "trial"}, ctx_for(workspace, contact)).output == {
        "tag": "trial",
        "removed": True,
    }
    assert tags_of(contact) == set()
    assert run_node("remove_tag", {"tag": "trial"}, ctx_for(workspace, contact)).output["removed"] is False
    assert run_node("remove_tag", {"tag": "never made"}, ctx_for(workspace, contact)).output["removed"] is False
    assert not Tag.objects.filter(name="never made").exists()


def test_tag_actions_never_touch_another_workspaces_tag(workspace, contact):
    other = TagFactory(name="Shared")
    run_node("add_tag", {"tag": "shared"}, ctx_for(workspace, contact))
    tag = ContactTag.objects.get(contact=contact).tag
    assert tag.workspace == workspace and tag.pk != other.pk


def test_tag_actions_dry_run_change_nothing(workspace, contact):
    result = run_node("add_tag", {"tag": "{{ contact.first_name }}-fan"}, ctx_for(workspace, contact, dry_run=True))
    assert result.output == {"simulated": True, "tag": "Ada-fan"}
    run_node("remove_tag", {"tag": "x"}, ctx_for(workspace, contact, dry_run=True))
    assert tags_of(contact) == set() and not Tag.objects.exists()


# --- update_field ---------------------------------------------------------------------------------------------


def test_update_field_sets_a_standard_field_and_later_steps_see_it(workspace, contact):
    ctx = ctx_for(workspace, contact, trigger={"data": {"company": "Analytical Engines"}})
    result = run_node("update_field", {"field": "company", "value": "{{ trigger.data.company }}"}, ctx)
    assert result.output == {"field": "company", "value": "Analytical Engines"}
    contact.refresh_from_db()
    assert contact.company == "Analytical Engines"
    assert ctx.template_context()["contact"]["company"] == "Analytical Engines"
    assert ContactActivity.objects.filter(contact=contact, kind=ActivityKind.FIELD_CHANGED, ref="company").exists()


def test_update_field_sets_a_custom_field_converted_to_its_type(workspace, contact):
    CustomFieldFactory(workspace=workspace, key="seats", type=CustomFieldType.NUMBER)
    result = run_node("update_field", {"field": "seats", "value": "{{ 3 + 4 }}"}, ctx_for(workspace, contact))
    contact.refresh_from_db()
    assert contact.custom_fields["seats"] == result.output["value"] == 7


def test_update_field_with_a_value_the_field_refuses_fails_the_step(workspace, contact):
    with pytest.raises(StepError, match="phone"):
        run_node("update_field", {"field": "phone", "value": "not a number"}, ctx_for(workspace, contact))
    with pytest.raises(StepError, match="stage"):
        run_node("update_field", {"field": "stage", "value": "royalty"}, ctx_for(workspace, contact))


@pytest.mark.parametrize("field", ["email", "status"])
def test_update_field_refuses_email_and_status(field):
    node = {"id": "set", "type": "update_field", "config": {"field": field, "value": "x"}}
    with pytest.raises(ValidationError) as caught:
        definition_clean(
            {"trigger": {"type": "manual"}, "nodes": [node], "edges": [{"source": "trigger", "target": "set"}]}
        )
    assert "nodes.set.config.field" in caught.value.message_dict


def test_update_field_dry_run_changes_nothing(workspace, contact):
    result = run_node("update_field", {"field": "company", "value": "ACME"}, ctx_for(workspace, contact, dry_run=True))
    assert result.output == {"simulated": True, "field": "company", "value": "ACME"}
    contact.refresh_from_db()
    assert contact.company == ""


# --- adjust_score, add_note -----------------------------------------------------------------------------------


def test_adjust_score_adds_and_takes_points(workspace, contact):
    assert run_node("adjust_score", {"points": 15, "reason": "Booked a demo"}, ctx_for(workspace, contact)).output == {
        "points": 15,
        "score": 25,
    }
    assert run_node("adjust_score", {"points": -30}, ctx_for(workspace, contact)).output == {"points": -25, "score": 0}
    contact.refresh_from_db()
    assert contact.score == 0
    assert ScoreChange.objects.filter(contact=contact).count() == 2


def test_adjust_score_below_zero_at_zero_is_a_no_op_not_a_failure(workspace):
    contact = ContactFactory(workspace=workspace, score=0)
    assert run_node("adjust_score", {"points": -5}, ctx_for(workspace, contact)).output == {"points": 0, "score": 0}
    assert not ScoreChange.objects.exists()


@pytest.mark.parametrize("points", [0, 10_001, -10_001, "ten", 2.5, True])
def test_adjust_score_refuses_bad_points(points):
    node = {"id": "score", "type": "adjust_score", "config": {"points": points}}
    with pytest.raises(ValidationError) as caught:
        definition_clean(
            {"trigger": {"type": "manual"}, "nodes": [node], "edges": [{"source": "trigger", "target": "score"}]}
        )
    assert "nodes.score.config.points" in caught.value.message_dict


def test_adjust_score_dry_run_shows_the_score_it_would_give(workspace, contact):
    result = run_node("adjust_score", {"points": 5}, ctx_for(workspace, contact, dry_run=True))
    assert result.output == {"simulated": True, "points": 5, "score": 15}
    contact.refresh_from_db()
    assert contact.score == 10


def test_add_note_puts_the_rendered_text_on_the_timeline(workspace, contact):
    ctx = ctx_for(workspace, contact, trigger={"form_name": "Quote"})
    result = run_node("add_note", {"text": "Asked for a quote via {{ trigger.form_name }}."}, ctx)
    note = ContactActivity.objects.get(contact=contact, kind=ActivityKind.NOTE)
    assert note.data["text"] == result.output["text"] == "Asked for a quote via Quote."


def test_add_note_that_renders_empty_fails_the_step(workspace, contact):
    with pytest.raises(StepError, match="text"):
        run_node("add_note", {"text": "{{ trigger.missing }}"}, ctx_for(workspace, contact))


@pytest.mark.parametrize("type_name", ["add_tag", "remove_tag", "update_field", "adjust_score", "add_note"])
def test_contact_actions_without_a_contact_fail_the_step(workspace, type_name):
    config = {
        "add_tag": {"tag": "x"},
        "remove_tag": {"tag": "x"},
        "update_field": {"field": "company", "value": "x"},
        "adjust_score": {"points": 1},
        "add_note": {"text": "x"},
    }[type_name]
    with pytest.raises(StepError, match="needs a contact"):
        run_node(type_name, config, ctx_for(workspace, None))


# --- notify_team ----------------------------------------------------------------------------------------------


def test_notify_team_emails_members_by_role_and_by_name_once_each(workspace, contact, execution):
    admin = MembershipFactory(workspace=workspace, role=Role.ADMIN)
    editor = MembershipFactory(workspace=workspace, role=Role.EDITOR)
    MembershipFactory(workspace=workspace, role=Role.VIEWER)
    MembershipFactory(role=Role.ADMIN)  # another workspace's admin
    config = {
        "roles": ["admin"],
        "members": [editor.user_id, admin.user_id],
        "subject": "New lead: {{ contact.email }}",
        "message": "{{ contact.first_name }} asked for a call.\nPlease ring them.",
    }
    ctx = ctx_for(workspace, contact, execution, node_id="ping")
    result = run_node("notify_team", config, ctx)
    sends = EmailSend.objects.order_by("to_email")
    assert sorted(send.to_email for send in sends) == sorted([admin.user.email, editor.user.email])
    assert {send.kind for send in sends} == {SendKind.TRANSACTIONAL}
    assert {send.idempotency_key for send in sends} == {
        f"workflow:{execution.pk}:ping:{admin.user_id}",
        f"workflow:{execution.pk}:ping:{editor.user_id}",
    }
    assert sends[0].subject == "New lead: ada@example.com"
    assert "Ada asked for a call." in sends[0].body["text"]
    assert "<br>" in sends[0].body["html"]
    assert len(result.output["sent"]) == 2
    run_node("notify_team", config, ctx)
    assert EmailSend.objects.count() == 2


@pytest.mark.parametrize("name", ["<b>Eve</b>", "{{ <script>alert(1)</script> }}"])
def test_notify_team_escapes_contact_data_in_its_html(workspace, execution, name):
    contact = ContactFactory(workspace=workspace, first_name=name)
    MembershipFactory(workspace=workspace, role=Role.OWNER)
    run_node(
        "notify_team",
        {"roles": ["owner"], "subject": "x", "message": "{{ contact.first_name }}"},
        ctx_for(workspace, contact, execution),
    )
    html = EmailSend.objects.get().body["html"]
    assert "<b>" not in html and "<script>" not in html


def test_notify_team_needs_roles_or_members():
    node = {"id": "ping", "type": "notify_team", "config": {"subject": "x"}}
    with pytest.raises(ValidationError) as caught:
        definition_clean(
            {"trigger": {"type": "manual"}, "nodes": [node], "edges": [{"source": "trigger", "target": "ping"}]}
        )
    assert "nodes.ping.config.roles" in caught.value.message_dict


def test_notify_team_refuses_an_unknown_role():
    node = {"id": "ping", "type": "notify_team", "config": {"roles": ["boss"], "subject": "x"}}
    with pytest.raises(ValidationError) as caught:
        definition_clean(
            {"trigger": {"type": "manual"}, "nodes": [node], "edges": [{"source": "trigger", "target": "ping"}]}
        )
    assert any(key.startswith("nodes.ping.config.roles") for key in caught.value.message_dict)


def test_notify_team_dry_run_lists_who_it_would_email(workspace, contact):
    owner = MembershipFactory(workspace=workspace, role=Role.OWNER)
    result = run_node(
        "notify_team",
        {"roles": ["owner"], "subject": "Hi {{ contact.first_name }}"},
        ctx_for(workspace, contact, dry_run=True),
    )
    assert result.output == {"simulated": True, "to": [owner.user.email], "subject": "Hi Ada", "text": ""}
    assert not EmailSend.objects.exists()


def test_notify_team_runs_without_a_contact(workspace, execution):
    MembershipFactory(workspace=workspace, role=Role.OWNER)
    run_node("notify_team", {"roles": ["owner"], "subject": "Scheduled report"}, ctx_for(workspace, None, execution))
    assert EmailSend.objects.count() == 1


# --- enroll_workflow ------------------------------------------------------------------------------------------


def test_enroll_workflow_starts_the_other_workflow_for_the_contact(workspace, contact, execution, monkeypatch):
    target = WorkflowFactory(workspace=workspace, name="Onboarding")
    calls = []

    def execution_start(**kwargs):
        calls.append(kwargs)
        return ExecutionFactory(version__workflow=target, workflow=target, contact=contact)

    import workflows.services.executions as executions

    monkeypatch.setattr(executions, "execution_start", execution_start)
    ctx = ctx_for(workspace, contact, execution, node_id="enroll", trigger={"email": "ada@example.com"})
    result = run_node("enroll_workflow", {"workflow": target.pk}, ctx)
    assert result.output["started"] is True and result.output["workflow_id"] == target.pk
    (call,) = calls
    assert call["workflow"] == target and call["contact"] == contact
    assert call["trigger_key"] == f"workflow:{execution.pk}:enroll"
    assert call["trigger_data"]["enrolled_by"] == {
        "workflow_id": execution.workflow_id,
        "execution_id": execution.pk,
        "node_id": "enroll",
        "chain": [execution.workflow_id],
    }


def test_enroll_workflow_reports_a_start_that_was_refused(workspace, contact, execution, monkeypatch):
    target = WorkflowFactory(workspace=workspace)
    import workflows.services.executions as executions

    monkeypatch.setattr(executions, "execution_start", lambda **kwargs: None)
    result = run_node("enroll_workflow", {"workflow": target.pk}, ctx_for(workspace, contact, execution))
    assert result.output == {"workflow_id": target.pk, "execution_id": None, "started": False}


def test_enroll_workflow_refuses_its_own_workflow(workspace, contact, execution):
    with pytest.raises(StepError, match="itself"):
        run_node("enroll_workflow", {"workflow": execution.workflow_id}, ctx_for(workspace, contact, execution))


def test_enroll_workflow_refuses_to_loop_back_to_a_workflow_that_led_here(workspace, contact, monkeypatch):
    import workflows.services.executions as executions

    first, second = WorkflowFactory(workspace=workspace), WorkflowFactory(workspace=workspace)
    started = []
    monkeypatch.setattr(executions, "execution_start", lambda **kwargs: started.append(kwargs))
    # first enrolls into second...
    in_first = ExecutionFactory(version__workflow=first, workflow=first, contact=contact)
    run_node("enroll_workflow", {"workflow": second.pk}, ctx_for(workspace, contact, in_first))
    # ...whose execution, started with that trigger data, may not enroll back into first.
    in_second = ExecutionFactory(version__workflow=second, workflow=second, contact=contact)
    ctx = ctx_for(workspace, contact, in_second, trigger=started[0]["trigger_data"])
    with pytest.raises(StepError, match="would loop"):
        run_node("enroll_workflow", {"workflow": first.pk}, ctx)
    assert len(started) == 1


def test_enroll_workflow_stops_at_a_depth(workspace, contact, execution, monkeypatch):
    import workflows.services.executions as executions
    from workflows.nodes.actions import MAX_ENROLL_DEPTH

    monkeypatch.setattr(executions, "execution_start", lambda **kwargs: None)
    target = WorkflowFactory(workspace=workspace)
    trigger = {"enrolled_by": {"chain": list(range(10_000, 10_000 + MAX_ENROLL_DEPTH))}}
    with pytest.raises(StepError, match="deep"):
        run_node("enroll_workflow", {"workflow": target.pk}, ctx_for(workspace, contact, execution, trigger=trigger))


def test_enroll_workflow_ignores_a_malformed_chain_in_trigger_data(workspace, contact, execution, monkeypatch):
    import workflows.services.executions as executions

    monkeypatch.setattr(executions, "execution_start", lambda **kwargs: None)
    target = WorkflowFactory(workspace=workspace)
    for trigger in ({"enrolled_by": "x"}, {"enrolled_by": {"chain": "x"}}, {"enrolled_by": {"chain": ["a", None]}}):
        ctx = ctx_for(workspace, contact, execution, trigger=trigger)
        assert run_node("enroll_workflow", {"workflow": target.pk}, ctx).output["started"] is False


def test_enroll_workflow_refuses_another_workspaces_workflow(workspace, contact, execution):
    theirs = WorkflowFactory()
    with pytest.raises(StepError, match="no longer exists"):
        run_node("enroll_workflow", {"workflow": theirs.pk}, ctx_for(workspace, contact, execution))


def test_enroll_workflow_dry_run_names_the_workflow_and_starts_nothing(workspace, contact):
    from workflows.models import Execution

    target = WorkflowFactory(workspace=workspace, name="Onboarding")
    result = run_node("enroll_workflow", {"workflow": target.pk}, ctx_for(workspace, contact, dry_run=True))
    assert result.output == {"simulated": True, "workflow_id": target.pk, "workflow": "Onboarding", "status": "draft"}
    assert not Execution.objects.filter(workflow=target).exists()
