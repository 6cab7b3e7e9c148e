"""Schedule triggers: a beat entry in the workspace's time zone exactly while the workflow is active,
and firings that start the workflow for a segment's contacts, or once, never twice for one slot."""

import datetime
import json
import zoneinfo

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from pydantic import ValidationError as PydanticValidationError

from accounts.services import workspace_update
from builder.components.base import errors_from_pydantic
from tests.factories import ContactFactory, SegmentFactory, WorkflowFactory, WorkflowVersionFactory, WorkspaceFactory
from tests.workers import beat_start, empty_broker, wait_for, worker_kill, worker_start
from workflows import schedule
from workflows.models import Execution, ExecutionStatus, Workflow, WorkflowStatus
from workflows.nodes import get_node_type
from workflows.schedule import schedule_fire, schedule_slot, schedule_sync
from workflows.tasks.schedule import workflow_schedule_fire

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
SCHEDULE = get_node_type("schedule")


def _definition(cron="0 9 * * 1", segment=None, trigger_type="schedule"):
    config = {"cron": cron, "segment": segment} if trigger_type == "schedule" else {}
    return {
        "trigger": {"type": trigger_type, "config": config},
        "nodes": [{"id": "tag", "type": "add_tag", "config": {"tag": "weekly"}}],
        "edges": [{"source": "trigger", "target": "tag"}],
    }


def _activate(workflow, definition):
    """What activation does to the row (the workflow services call schedule_sync after it)."""
    number = (workflow.versions.count() or 0) + 1
    version = WorkflowVersionFactory(workflow=workflow, definition=definition, number=number)
    workflow.definition, workflow.active_version, workflow.status = definition, version, WorkflowStatus.ACTIVE
    workflow.trigger_type = definition["trigger"]["type"]
    workflow.save()
    return workflow


def _workflow(cron="0 9 * * 1", segment=None, *, tz="Europe/Paris", trigger_type="schedule", workspace=None):
    workspace = workspace or WorkspaceFactory(timezone=tz)
    workflow = WorkflowFactory(workspace=workspace)
    return _activate(workflow, _definition(cron, segment, trigger_type))


class TestSync:
    def test_activating_creates_a_beat_entry_on_the_cron_in_the_workspaces_time_zone(self):
        workflow = _workflow("30 8 * * 1-5")
        task = schedule_sync(workflow=workflow)
        task.refresh_from_db()
        assert task.task == "workflows.tasks.schedule.workflow_schedule_fire"
        assert json.loads(task.args) == [workflow.pk] and task.enabled and not task.one_off
        cron = task.crontab
        assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
            "30",
            "8",
            "*",
            "*",
            "1-5",
        )
        assert str(cron.timezone) == "Europe/Paris"
        assert Workflow.objects.get(pk=workflow.pk).schedule_task_id == task.pk

    def test_the_beat_entry_fires_at_the_local_time(self):
        """Beat's own reading of the entry: 08:30 in Paris is 07:30 UTC in winter, 06:30 in summer."""
        workflow = _workflow("30 8 * * *")
        cron = schedule_sync(workflow=workflow).crontab
        for day, utc_hour in ((datetime.date(2026, 1, 15), 7), (datetime.date(2026, 7, 15), 6)):
            last_run = datetime.datetime.combine(day, datetime.time(0, 0), tzinfo=datetime.UTC)
            start, delta, _now = cron.schedule.remaining_delta(last_run)
            due = (start + delta).astimezone(datetime.UTC)
            assert (due.date(), due.hour, due.minute) == (day, utc_hour, 30)

    def test_syncing_again_after_a_change_updates_the_same_entry(self):
        workflow = _workflow("0 9 * * 1")
        first = schedule_sync(workflow=workflow)
        _activate(workflow, _definition("15 18 1 * *"))
        second = schedule_sync(workflow=workflow)
        assert second.pk == first.pk and PeriodicTask.objects.filter(task=schedule.FIRE_TASK).count() == 1
        second.refresh_from_db()
        assert (second.crontab.minute, second.crontab.hour, second.crontab.day_of_month) == ("15", "18", "1")

    def test_syncing_twice_is_harmless(self):
        workflow = _workflow()
        schedule_sync(workflow=workflow)
        schedule_sync(workflow=workflow)
        assert PeriodicTask.objects.filter(task=schedule.FIRE_TASK).count() == 1
        assert CrontabSchedule.objects.filter(minute="0", hour="9", day_of_week="1").count() == 1

    def test_a_time_zone_change_takes_effect_on_the_next_sync(self):
        workflow = _workflow(tz="Europe/Paris")
        schedule_sync(workflow=workflow)
        workflow.workspace.timezone = "America/New_York"
        workflow.workspace.save()
        task = schedule_sync(workflow=workflow)
        task.refresh_from_db()
        assert str(task.crontab.timezone) == "America/New_York"

    def test_changing_the_workspaces_time_zone_moves_its_schedules_through_the_outbox(
        self, celery_eager, django_capture_on_commit_callbacks
    ):
        workflow = _workflow(tz="Europe/Paris")
        schedule_sync(workflow=workflow)
        with django_capture_on_commit_callbacks(execute=True):
            workspace_update(workspace=workflow.workspace, actor=None, timezone_name="Asia/Tokyo")
        task = PeriodicTask.objects.get(pk=Workflow.objects.get(pk=workflow.pk).schedule_task_id)
        assert str(task.crontab.timezone) == "Asia/Tokyo"

    def test_pausing_removes_the_entry(self):
        workflow = _workflow()
        schedule_sync(workflow=workflow)
        workflow.status = WorkflowStatus.PAUSED
        workflow.save()
        assert schedule_sync(workflow=workflow) is None
        assert not PeriodicTask.objects.filter(task=schedule.FIRE_TASK).exists()
        assert Workflow.objects.get(pk=workflow.pk).schedule_task_id is None

    def test_deleting_removes_the_entry(self):
        workflow = _workflow()
        schedule_sync(workflow=workflow)
        workflow.delete()
        schedule_sync(workflow=workflow)
        assert not PeriodicTask.objects.filter(task=schedule.FIRE_TASK).exists()

    def test_switching_to_another_trigger_removes_the_entry(self):
        workflow = _workflow()
        schedule_sync(workflow=workflow)
        _activate(workflow, _definition(trigger_type="manual"))
        assert schedule_sync(workflow=workflow) is None
        assert not PeriodicTask.objects.filter(task=schedule.FIRE_TASK).exists()

    def test_a_draft_or_another_trigger_gets_no_entry(self):
        assert schedule_sync(workflow=WorkflowFactory(definition=_definition())) is None
        assert schedule_sync(workflow=_workflow(trigger_type="manual")) is None
        assert not PeriodicTask.objects.filter(task=schedule.FIRE_TASK).exists()

    def test_through_the_workflow_services(self):
        from workflows.services.workflows import workflow_activate, workflow_delete, workflow_pause

        workspace = WorkspaceFactory(timezone="Asia/Tokyo")
        workflow = WorkflowFactory(workspace=workspace, definition=_definition("0 7 * * *"))
        workflow_activate(workflow=workflow)
        task = PeriodicTask.objects.get(task=schedule.FIRE_TASK)
        assert str(task.crontab.timezone) == "Asia/Tokyo" and json.loads(task.args) == [workflow.pk]
        workflow_pause(workflow=Workflow.objects.get(pk=workflow.pk))
        assert not PeriodicTask.objects.filter(task=schedule.FIRE_TASK).exists()
        workflow_activate(workflow=Workflow.objects.get(pk=workflow.pk))
        assert PeriodicTask.objects.filter(task=schedule.FIRE_TASK).count() == 1
        workflow_delete(workflow=Workflow.objects.get(pk=workflow.pk))
        assert not PeriodicTask.objects.filter(task=schedule.FIRE_TASK).exists()


class TestSlot:
    def test_the_slot_is_the_latest_cron_time_in_the_workspaces_zone(self):
        # Monday 12 January 2026, 09:20 in Paris (08:20 UTC): the Monday 09:00 slot.
        now = datetime.datetime(2026, 1, 12, 8, 20, tzinfo=datetime.UTC)
        assert schedule_slot("0 9 * * 1", "Europe/Paris", now) == datetime.datetime(2026, 1, 12, 9, 0, tzinfo=PARIS)
        # Before it, the previous Monday's.
        early = datetime.datetime(2026, 1, 12, 7, 0, tzinfo=datetime.UTC)
        assert schedule_slot("0 9 * * 1", "Europe/Paris", early) == datetime.datetime(2026, 1, 5, 9, 0, tzinfo=PARIS)

    def test_a_firing_a_little_early_counts_to_its_own_minute(self):
        beat_ahead = datetime.datetime(2026, 1, 12, 7, 59, 50, tzinfo=datetime.UTC)  # 08:59:50 in Paris
        assert schedule_slot("0 9 * * 1", "Europe/Paris", beat_ahead).hour == 9

    @pytest.mark.parametrize(
        ("cron", "now", "slot"),
        [
            ("*/15 * * * *", datetime.datetime(2026, 3, 3, 10, 44), datetime.datetime(2026, 3, 3, 10, 30)),
            ("0 0 1 1 *", datetime.datetime(2026, 3, 3, 10, 44), datetime.datetime(2026, 1, 1, 0, 0)),
            ("0 12 29 2 *", datetime.datetime(2026, 3, 3, 10, 44), datetime.datetime(2024, 2, 29, 12, 0)),
            ("5 4 * * 0", datetime.datetime(2026, 3, 3, 10, 44), datetime.datetime(2026, 3, 1, 4, 5)),
            ("0 9 13 * 5", datetime.datetime(2026, 3, 3, 10, 44), datetime.datetime(2026, 2, 13, 9, 0)),
            ("59 23 * * *", datetime.datetime(2026, 3, 3, 10, 44), datetime.datetime(2026, 3, 2, 23, 59)),
        ],
    )
    def test_slots_of_various_crons(self, cron, now, slot):
        assert schedule_slot(cron, "UTC", now.replace(tzinfo=datetime.UTC)) == slot.replace(
            tzinfo=zoneinfo.ZoneInfo("UTC")
        )

    def test_every_time_beat_fires_is_its_own_slot(self):
        """The slot of each time beat's schedule is due is that very time, across a DST change."""
        cron_row = CrontabSchedule(minute="0", hour="2,9", day_of_week="*", day_of_month="*", month_of_year="*")
        cron_row.timezone = zoneinfo.ZoneInfo("Europe/Paris")
        at = datetime.datetime(2026, 3, 27, 0, 0, tzinfo=datetime.UTC)
        for _ in range(8):
            start, delta, _now = cron_row.schedule.remaining_delta(at)
            due = start + delta
            assert schedule_slot("0 2,9 * * *", "Europe/Paris", due) == due.astimezone(PARIS).replace(tzinfo=PARIS)
            at = due + datetime.timedelta(seconds=1)


class TestFire:
    NOW = datetime.datetime(2026, 1, 12, 8, 0, 5, tzinfo=datetime.UTC)  # Monday 09:00:05 in Paris

    def test_a_firing_starts_the_workflow_for_each_contact_of_the_segment(self):
        workspace = WorkspaceFactory(timezone="Europe/Paris")
        segment = SegmentFactory(
            workspace=workspace, rules={"match": "all", "rules": [{"field": "company", "op": "eq", "value": "Acme"}]}
        )
        members = [ContactFactory(workspace=workspace, company="Acme") for _ in range(3)]
        ContactFactory(workspace=workspace, company="Other")
        ContactFactory(company="Acme")  # another workspace's
        workflow = _workflow(segment=segment.pk, workspace=workspace)
        assert schedule_fire(workflow_id=workflow.pk, now=self.NOW) == 3
        executions = Execution.objects.filter(workflow=workflow)
        assert {execution.contact_id for execution in executions} == {contact.pk for contact in members}
        assert {execution.trigger_key for execution in executions} == {
            f"schedule:20260112T0800Z:{contact.pk}" for contact in members
        }
        assert executions[0].trigger_data == {
            "schedule": {
                "cron": "0 9 * * 1",
                "timezone": "Europe/Paris",
                "slot": "2026-01-12T09:00:00+01:00",
                "segment": segment.pk,
            }
        }

    def test_the_same_slot_fired_again_starts_nobody_twice(self):
        workspace = WorkspaceFactory(timezone="Europe/Paris")
        segment = SegmentFactory(workspace=workspace, rules={"match": "all", "rules": []})
        ContactFactory.create_batch(4, workspace=workspace)
        workflow = _workflow(segment=segment.pk, workspace=workspace)
        assert schedule_fire(workflow_id=workflow.pk, now=self.NOW) == 4
        late_worker = self.NOW + datetime.timedelta(minutes=10)
        assert schedule_fire(workflow_id=workflow.pk, now=late_worker) == 0
        assert Execution.objects.filter(workflow=workflow).count() == 4
        next_week = self.NOW + datetime.timedelta(days=7)
        assert schedule_fire(workflow_id=workflow.pk, now=next_week) == 4
        assert Execution.objects.filter(workflow=workflow).count() == 8

    def test_large_segments_are_started_in_batches(self, monkeypatch):
        monkeypatch.setattr(schedule, "START_BATCH", 3)
        workspace = WorkspaceFactory(timezone="UTC")
        segment = SegmentFactory(workspace=workspace, rules={"match": "all", "rules": []})
        ContactFactory.create_batch(7, workspace=workspace)
        workflow = _workflow(segment=segment.pk, workspace=workspace)
        assert schedule_fire(workflow_id=workflow.pk, now=self.NOW) == 7
        assert Execution.objects.filter(workflow=workflow).values("contact").distinct().count() == 7

    def test_without_a_segment_it_runs_once_with_no_contact(self):
        workflow = _workflow()
        ContactFactory(workspace=workflow.workspace)
        assert schedule_fire(workflow_id=workflow.pk, now=self.NOW) == 1
        assert schedule_fire(workflow_id=workflow.pk, now=self.NOW + datetime.timedelta(seconds=20)) == 0
        execution = Execution.objects.get(workflow=workflow)
        assert execution.contact is None and execution.trigger_key == "schedule:20260112T0800Z"

    def test_the_task_fires_the_workflow(self):
        workflow = _workflow("* * * * *")
        assert workflow_schedule_fire(workflow.pk) == 1
        assert Execution.objects.filter(workflow=workflow).count() == 1

    def test_a_paused_or_deleted_workflows_leftover_entry_fires_nothing_and_is_removed(self):
        workflow = _workflow()
        schedule_sync(workflow=workflow)
        Workflow.objects.filter(pk=workflow.pk).update(status=WorkflowStatus.PAUSED)
        assert schedule_fire(workflow_id=workflow.pk, now=self.NOW) == 0
        assert not PeriodicTask.objects.filter(task=schedule.FIRE_TASK).exists()
        assert schedule_fire(workflow_id=999_999, now=self.NOW) == 0
        assert not Execution.objects.exists()

    def test_a_workflow_whose_trigger_is_no_longer_a_schedule_fires_nothing(self):
        workflow = _workflow(trigger_type="manual")
        assert schedule_fire(workflow_id=workflow.pk, now=self.NOW) == 0
        assert not Execution.objects.exists()

    def test_a_deleted_segment_fires_nothing(self):
        workspace = WorkspaceFactory()
        segment = SegmentFactory(workspace=workspace, rules={"match": "all", "rules": []})
        ContactFactory(workspace=workspace)
        workflow = _workflow(segment=segment.pk, workspace=workspace)
        segment.delete()
        assert schedule_fire(workflow_id=workflow.pk, now=self.NOW) == 0
        assert not Execution.objects.exists()

    def test_another_workspaces_segment_is_never_used(self):
        other = SegmentFactory(rules={"match": "all", "rules": []})
        ContactFactory(workspace=other.workspace)
        workflow = _workflow(segment=other.pk)
        assert schedule_fire(workflow_id=workflow.pk, now=self.NOW) == 0
        assert not Execution.objects.exists()

    def test_the_reentry_policy_applies(self):
        workspace = WorkspaceFactory(timezone="UTC")
        segment = SegmentFactory(workspace=workspace, rules={"match": "all", "rules": []})
        ContactFactory.create_batch(2, workspace=workspace)
        workflow = WorkflowFactory(workspace=workspace)
        _activate(workflow, _definition(segment=segment.pk) | {"reentry": {"policy": "once"}})
        assert schedule_fire(workflow_id=workflow.pk, now=self.NOW) == 2
        assert schedule_fire(workflow_id=workflow.pk, now=self.NOW + datetime.timedelta(days=7)) == 0


class TestConfig:
    @pytest.mark.parametrize(
        ("config", "field"),
        [
            ({}, "config.cron"),
            ({"cron": ""}, "config.cron"),
            ({"cron": "0 9 * *"}, "config.cron"),
            ({"cron": "0 9 * * * *"}, "config.cron"),
            ({"cron": "61 9 * * *"}, "config.cron"),
            ({"cron": "0 24 * * *"}, "config.cron"),
            ({"cron": "0 9 0 * *"}, "config.cron"),
            ({"cron": "0 9 31 2 *"}, "config.cron"),
            ({"cron": "0 9 * 13 *"}, "config.cron"),
            ({"cron": "0 9 * * 8"}, "config.cron"),
            ({"cron": "a b c d e"}, "config.cron"),
            ({"cron": "0 9 * * 1; rm"}, "config.cron"),
            ({"cron": 5}, "config.cron"),
            ({"cron": "0 9 * * 1", "segment": 0}, "config.segment"),
            ({"cron": "0 9 * * 1", "segment": "all"}, "config.segment"),
            ({"cron": "0 9 * * 1", "every": "day"}, "config.every"),
        ],
    )
    def test_a_bad_config_is_refused_naming_the_field(self, config, field):
        with pytest.raises(PydanticValidationError) as caught:
            SCHEDULE.Config.model_validate(config)
        errors = errors_from_pydantic(caught.value)
        assert field in errors and all(message for message in errors[field]), errors

    def test_a_cron_is_stored_with_single_spaces(self):
        assert SCHEDULE.Config.model_validate({"cron": " 0  9 * * mon-fri "}).cron == "0 9 * * mon-fri"

    def test_the_segment_must_be_the_workspaces_own(self):
        workspace = WorkspaceFactory()
        mine, theirs = SegmentFactory(workspace=workspace), SegmentFactory()
        config = SCHEDULE.Config.model_validate
        assert SCHEDULE.config_errors(config({"cron": "0 9 * * 1", "segment": mine.pk}), workspace=workspace) == {}
        errors = SCHEDULE.config_errors(config({"cron": "0 9 * * 1", "segment": theirs.pk}), workspace=workspace)
        assert list(errors) == ["segment"]

    def test_through_definition_validation_the_error_names_the_trigger_field(self):
        from django.core.exceptions import ValidationError

        from workflows.definition import definition_clean

        workspace = WorkspaceFactory()
        with pytest.raises(ValidationError) as caught:
            definition_clean(_definition(cron="0 25 * * *"), workspace=workspace)
        assert "trigger.config.cron" in caught.value.message_dict
        with pytest.raises(ValidationError) as caught:
            definition_clean(_definition(segment=SegmentFactory().pk), workspace=workspace)
        assert "trigger.config.segment" in caught.value.message_dict


BROKER = "redis://127.0.0.1:6379/13"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_beat_and_worker_run_a_scheduled_workflow_for_its_segment(tmp_path):
    """The production processes: beat reads the entry from the database and publishes the firing, a
    worker starts the executions and runs them. Cron's finest step is a minute, so this takes one."""
    workspace = WorkspaceFactory(timezone="Asia/Kathmandu")  # UTC+05:45: a zone off the hour
    segment = SegmentFactory(workspace=workspace, rules={"match": "all", "rules": []})
    contacts = ContactFactory.create_batch(3, workspace=workspace)
    workflow = _workflow("* * * * *", segment=segment.pk, workspace=workspace)
    schedule_sync(workflow=workflow)
    with empty_broker(BROKER):
        beat = beat_start(tmp_path, broker=BROKER)
        worker = worker_start(tmp_path, broker=BROKER)
        executions = Execution.objects.filter(workflow=workflow)
        try:
            wait_for(
                lambda: executions.filter(status=ExecutionStatus.SUCCEEDED).count() == len(contacts),
                100,
                "the first firing's executions to finish",
                interval=0.5,
            )
        finally:
            worker_kill(beat)
            worker_kill(worker)
    assert {execution.contact_id for execution in executions} == {contact.pk for contact in contacts}
    keys = {execution.trigger_key.rsplit(":", 1)[0] for execution in executions}
    assert len(keys) in (1, 2), keys  # one slot (two if a second minute came round while waiting)
    assert all(contact.tags.filter(name="weekly").exists() for contact in contacts)
