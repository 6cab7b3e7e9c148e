"""Workflows: editable graphs, their immutable versions, and the executions that run them.

A `Workflow` holds the draft `definition` the editor saves. Activating it freezes that definition
into a `WorkflowVersion`; an `Execution` pins the version it started on, so editing or re-activating
never changes a run in flight. Each step an execution takes is a `StepRun` (one per attempt).

An execution's engine state lives on its row: `state` (the queue of nodes still to run and the
outputs of those that ran), `resume_at` for a wait, and `lease_expires_at`, the lease of the worker
running it, renewed with every step. The sweeper hands out due waits and lapsed leases
(see workflows.engine), so a killed worker's executions resume after their last completed step.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.tenancy import TenantModel, TenantQuerySet


class WorkflowStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


def new_hook_token() -> str:
    return secrets.token_urlsafe(24)


class WorkflowQuerySet(TenantQuerySet):
    def active(self) -> "WorkflowQuerySet":
        return self.filter(status=WorkflowStatus.ACTIVE, active_version__isnull=False)


class Workflow(TenantModel):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=WorkflowStatus.choices, default=WorkflowStatus.DRAFT)
    #: The draft the editor saves: {"name"?, "trigger", "nodes", "edges", "reentry"?}. Checked in full on
    #: validate and activate; saved as it is while being edited.
    definition = models.JSONField(default=dict, blank=True)
    #: The version executions start on while the workflow is active.
    active_version = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: Copied from the active version's trigger, so an event finds the workflows it starts in one index.
    trigger_type = models.CharField(max_length=32, blank=True)
    #: The trigger's narrowing value where it has one (a form component's id, a tag name), "" for any.
    trigger_ref = models.CharField(max_length=200, blank=True)
    #: The secret in the webhook trigger's URL, /hooks/<token>/.
    hook_token = models.CharField(max_length=64, default=new_hook_token)
    #: Key for the webhook trigger's optional HMAC check of the request body.
    hook_secret = models.CharField(max_length=128, blank=True)
    #: The beat entry of a schedule trigger while the workflow is active.
    schedule_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: The ready-made template it started from, if any.
    template = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["hook_token"], name="workflow_unique_hook_token"),
            models.CheckConstraint(condition=Q(status__in=WorkflowStatus.values), name="workflow_status_valid"),
        ]
        indexes = [
            # The trigger handlers' lookup: this workspace's active workflows on this trigger.
            models.Index(fields=["workspace", "trigger_type", "status"], name="workflow_trigger"),
        ]

    def __str__(self) -> str:
        return self.name


class WorkflowVersion(TenantModel):
    """A frozen definition; never changed once written."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["workflow", "number"], name="workflow_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.workflow_id} v{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("A workflow version is immutable; activate a new one instead.")
        super().save(*args, **kwargs)


class ExecutionStatus(models.TextChoices):
    #: Waiting for a worker: just started, resumed by the sweeper, or taken back from a dead worker.
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL = frozenset({ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED})
#: Statuses whose row a worker holds or is about to take, under `lease_expires_at`.
LEASED = frozenset({ExecutionStatus.PENDING, ExecutionStatus.RUNNING})


class ExecutionQuerySet(TenantQuerySet):
    def live(self) -> "ExecutionQuerySet":
        return self.exclude(status__in=TERMINAL)


class Execution(TenantModel):
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="executions", db_index=False)
    #: The version it runs on, from start to end.
    version = models.ForeignKey(WorkflowVersion, on_delete=models.RESTRICT, related_name="executions")
    #: Erasing a person erases their runs (trigger data and step input/output hold their data).
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    #: What started it, unique per workflow: "event:<id>", "hook:<uuid>", "schedule:<slot>:<contact>",
    #: "enroll:<execution>:<node>". Blank for manual starts and re-runs, which may repeat.
    trigger_key = models.CharField(max_length=200, blank=True)
    trigger_data = models.JSONField(default=dict, blank=True)
    #: The run this one re-runs from the start.
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=ExecutionStatus.choices, default=ExecutionStatus.PENDING)
    #: The node it is at: running, waiting at, or failed on.
    current_node = models.CharField(max_length=64, blank=True)
    #: Engine state: {"queue": [node ids], "steps": {node id: output}, "signal": …}; see workflows.engine.
    state = models.JSONField(default=dict, blank=True)
    #: When a waiting execution is due (a wait's end, a wait_for_event's timeout, a retry's backoff).
    resume_at = models.DateTimeField(null=True, blank=True)
    #: The event type a wait_for_event step waits for ("email.opened"), "" otherwise.
    wait_event = models.CharField(max_length=64, blank=True)
    #: Until when the worker that runs it (or the task about to) holds it; past that, the sweeper
    #: takes it back.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    #: The holder of the lease: a step's outcome is committed only while it still matches.
    lease_token = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ExecutionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "trigger_key"], condition=~Q(trigger_key=""), name="execution_unique_trigger"
            ),
            models.CheckConstraint(condition=Q(status__in=ExecutionStatus.values), name="execution_status_valid"),
        ]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="execution_recent"),
            # A workflow's list and stats by status, and the re-entry check of a contact's runs.
            models.Index(fields=["workflow", "status", "-created_at"], name="execution_workflow_status"),
            models.Index(fields=["workflow", "contact", "-created_at"], name="execution_workflow_contact"),
            models.Index(fields=["contact", "-created_at"], name="execution_contact"),
            # The sweeper's two scans: waits that are due, and leases that lapsed.
            models.Index(fields=["resume_at"], condition=Q(status=ExecutionStatus.WAITING), name="execution_due"),
            models.Index(fields=["lease_expires_at"], condition=Q(status__in=sorted(LEASED)), name="execution_leased"),
            # A contact's executions waiting for an event (an open, a click) or a goal.
            models.Index(
                fields=["contact", "wait_event"], condition=Q(status=ExecutionStatus.WAITING), name="execution_waiting"
            ),
        ]

    def __str__(self) -> str:
        return f"Execution {self.pk} of {self.workflow_id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


class StepStatus(models.TextChoices):
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    #: Left without running: a goal was reached, or the execution was cancelled.
    SKIPPED = "skipped", "Skipped"


class StepRun(TenantModel):
    """One attempt at one node. Input and output are pruned after WORKFLOW_RETENTION_DAYS; the row stays."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="steps", db_index=False)
    node_id = models.CharField(max_length=64)
    node_type = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.RUNNING)
    #: The output port it left by ("out", "true", "timeout", a switch branch…), "" if none.
    port = models.CharField(max_length=64, blank=True)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    #: Set when input/output were pruned.
    pruned = models.BooleanField(default=False)

    class Meta:
        ordering = ["execution", "id"]
        constraints = [models.CheckConstraint(condition=Q(status__in=StepStatus.values), name="step_status_valid")]
        indexes = [
            models.Index(fields=["execution", "id"], name="step_execution"),
            # Retention's scan for old rows still holding data.
            models.Index(fields=["started_at"], condition=Q(pruned=False), name="step_unpruned"),
        ]

    def __str__(self) -> str:
        return f"{self.node_id} of {self.execution_id} ({self.status})"
