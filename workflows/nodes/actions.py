"""Actions: email the contact or the team, change the contact (tags, fields, score, notes), start
another workflow, or end this one.

Every action runs inside the step's transaction through the apps' own services, so the CRM's
timeline and events, and the email ledger's consent checks and idempotency, apply as they do
anywhere else. A service's refusal (a ValidationError) becomes the step's error, worded as the
service words it.
"""

import dataclasses
from functools import lru_cache
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from pydantic import Field, StringConstraints, field_validator

from crm.services.scoring import POINTS_MAX
from workflows.nodes import register
from workflows.nodes.base import NodeConfig, NodeType, Result, RowId, StepContext, StepError, custom_field_errors

#: Stands for the unsubscribe link while the message is rendered, before the ledger row (whose token
#: the link carries) exists; replaced once it does.
UNSUBSCRIBE_PLACEHOLDER = "https://unsubscribe.invalid/workflow-placeholder"

TemplateLine = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    Field(json_schema_extra={"format": "template"}),
]
TemplateText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=10_000),
    Field(json_schema_extra={"format": "template-textarea"}),
]
#: Fields a workflow may set on a contact (email and status have their own flows: verification, consent).
UPDATABLE_FIELDS = ("first_name", "last_name", "phone", "company", "stage")


def _service_error(exc: ValidationError) -> StepError:
    if hasattr(exc, "message_dict"):
        parts = [
            f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
            for field, messages in exc.message_dict.items()
        ]
        return StepError("; ".join(parts))
    return StepError(" ".join(exc.messages))


def _contact_required(ctx: StepContext, action: str):
    if ctx.contact is None:
        raise StepError(f"{action} needs a contact, and this execution has none.")
    return ctx.contact


# --- Email ------------------------------------------------------------------------------------------------


def _rich_text(value: str) -> str:
    from campaigns.content.markup import sanitize_rich_text

    return sanitize_rich_text(value)


class SendEmailConfig(NodeConfig):
    subject: TemplateLine = Field(description="The subject; templates like {{ contact.first_name }} work here.")
    content: Annotated[str, StringConstraints(max_length=20_000)] = Field(
        default="", description="The message (rich text, with templates).", json_schema_extra={"format": "richtext"}
    )
    preheader: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = Field(
        default="", description="The preview text inboxes show after the subject."
    )
    sender: RowId | None = Field(
        default=None,
        description="A verified sender; empty for the platform's address.",
        json_schema_extra={"format": "sender"},
    )
    kind: Literal["marketing", "transactional"] = Field(
        default="marketing",
        description="Marketing email honours unsubscribes and carries an unsubscribe link; transactional doesn't.",
    )

    @field_validator("content")
    @classmethod
    def _content(cls, value: str) -> str:
        value = _rich_text(value)
        if not value.strip():
            raise ValueError("Write the message.")
        return value


@lru_cache(maxsize=256)
def _compiled_email(
    content: str, subject: str, preheader: str, postal_address: str, workspace_name: str, marketing: bool
):
    """Compiled once per distinct message: every contact that reaches the same node only renders it."""
    from campaigns.content import compile_email

    return compile_email(
        content={"blocks": [{"type": "text", "text": content}]},
        subject=subject,
        preheader=preheader,
        postal_address=postal_address,
        workspace_name=workspace_name,
        marketing=marketing,
    )


def _render_email(ctx: StepContext, config: SendEmailConfig):
    from campaigns.delivery.messages import sending_settings_for
    from campaigns.delivery.sending import SUBJECT_MAX
    from core.templating import TemplateRenderError

    marketing = config.kind == "marketing"
    postal_address = sending_settings_for(ctx.workspace.pk).postal_address if marketing else ""
    try:
        compiled = _compiled_email(
            config.content, config.subject, config.preheader, postal_address, ctx.workspace.name, marketing
        )
    except ValidationError as exc:
        raise _service_error(exc) from None
    context = {**ctx.template_context(), "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER}
    try:
        rendered = compiled.render(context)
    except TemplateRenderError as exc:
        raise StepError(f"Template error: {exc}") from None
    if not rendered.subject:
        raise StepError("The subject is empty for this contact.")
    if len(rendered.subject) > SUBJECT_MAX:
        # Contact data can make a subject longer than the ledger holds; inboxes cut it sooner anyway.
        rendered = dataclasses.replace(rendered, subject=rendered.subject[: SUBJECT_MAX - 1].rstrip() + "…")
    return rendered


def _sender(ctx: StepContext, config: SendEmailConfig):
    if config.sender is None:
        return None
    from campaigns.models import Sender

    sender = Sender.objects.filter(workspace=ctx.workspace, pk=config.sender).first()
    if sender is None:
        raise StepError("The sender no longer exists.")
    return sender


@register
class SendEmail(NodeType):
    type = "send_email"
    kind = "action"
    name = "Send email"
    description = "Email the contact, through the delivery ledger (sent once, however often the step runs)."
    Config = SendEmailConfig
    side_effect = True
    template_fields = ("subject", "content", "preheader")
    html_fields = ("content",)

    def run(self, ctx: StepContext, config: SendEmailConfig) -> Result:
        from campaigns.models import EmailSend, SendKind, SendStatus
        from campaigns.services.sends import email_send_create
        from campaigns.tracking import unsubscribe_url

        contact = _contact_required(ctx, "Sending an email")
        rendered = _render_email(ctx, config)
        marketing = config.kind == "marketing"
        try:
            send, created = email_send_create(
                workspace=ctx.workspace,
                kind=SendKind.WORKFLOW if marketing else SendKind.TRANSACTIONAL,
                idempotency_key=ctx.key,
                subject=rendered.subject,
                html=rendered.html,
                text=rendered.text,
                contact=contact,
                sender=_sender(ctx, config),
                ref=ctx.key,
            )
        except ValidationError as exc:
            raise _service_error(exc) from None
        if created and marketing and send.status == SendStatus.QUEUED:
            # Delivery runs after this transaction commits, so the row is still ours to finish.
            link = unsubscribe_url(send.token)
            send.body = {
                **send.body,
                "html": send.body["html"].replace(UNSUBSCRIBE_PLACEHOLDER, link),
                "text": send.body["text"].replace(UNSUBSCRIBE_PLACEHOLDER, link),
            }
            EmailSend.objects.filter(pk=send.pk).update(body=send.body)
        return Result(output={"send_id": send.pk, "status": send.status, "to": send.to_email, "subject": send.subject})

    def simulate(self, ctx: StepContext, config: SendEmailConfig) -> Result:
        rendered = _render_email(ctx, config)
        return Result(
            output={
                "simulated": True,
                "to": ctx.contact.email if ctx.contact is not None else None,
                "subject": rendered.subject,
                "text": rendered.text,
                "html": rendered.html,
                "kind": config.kind,
            }
        )

    def config_errors(self, config: SendEmailConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        if workspace is None or config.sender is None:
            return {}
        from campaigns.models import Sender

        if not Sender.objects.filter(workspace=workspace, pk=config.sender).exists():
            return {"sender": ["No such sender in this workspace."]}
        return {}


# --- Tags ----------------------------------------------------------------------------------------------------


class TagConfig(NodeConfig):
    tag: TemplateLine = Field(description="The tag's name; may use templates, e.g. {{ trigger.data.interest }}.")


def _tag_name(ctx: StepContext, config: TagConfig) -> str:
    from crm.services.tags import tag_name_clean

    try:
        return tag_name_clean(ctx.render(config.tag))
    except ValidationError as exc:
        raise _service_error(exc) from None


class _TagAction(NodeType):
    kind = "action"
    Config = TagConfig
    side_effect = True
    template_fields = ("tag",)

    def simulate(self, ctx: StepContext, config: TagConfig) -> Result:
        return Result(output={"simulated": True, "tag": _tag_name(ctx, config)})


@register
class AddTag(_TagAction):
    type = "add_tag"
    name = "Add tag"
    description = "Tag the contact."

    def run(self, ctx: StepContext, config: TagConfig) -> Result:
        from crm.services.tags import contact_tags_add, tags_resolve

        contact = _contact_required(ctx, "Adding a tag")
        name = _tag_name(ctx, config)
        added = contact_tags_add(
            contact=contact, tags=tags_resolve(workspace=ctx.workspace, names=[name]), source="workflow"
        )
        return Result(output={"tag": name, "added": bool(added)})


@register
class RemoveTag(_TagAction):
    type = "remove_tag"
    name = "Remove tag"
    description = "Take a tag off the contact."

    def run(self, ctx: StepContext, config: TagConfig) -> Result:
        from crm.models import Tag
        from crm.services.tags import contact_tags_remove

        contact = _contact_required(ctx, "Removing a tag")
        name = _tag_name(ctx, config)
        tag = Tag.objects.for_workspace(ctx.workspace).filter(name__iexact=name).first()
        removed = contact_tags_remove(contact=contact, tags=[tag], source="workflow") if tag else []
        return Result(output={"tag": name, "removed": bool(removed)})


# --- Contact fields, score, notes ------------------------------------------------------------------------------


class UpdateFieldConfig(NodeConfig):
    field: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] = Field(
        description="first_name, last_name, phone, company, stage, or a custom field's key.",
        json_schema_extra={"format": "contact_field"},
    )
    value: TemplateText = Field(default="", description="The new value (a template); empty clears the field.")

    @field_validator("field")
    @classmethod
    def _field(cls, value: str) -> str:
        return value.removeprefix("contact.").removeprefix("custom_fields.")


@register
class UpdateField(NodeType):
    type = "update_field"
    kind = "action"
    name = "Update field"
    description = "Set one of the contact's fields."
    Config = UpdateFieldConfig
    side_effect = True
    template_fields = ("value",)

    def run(self, ctx: StepContext, config: UpdateFieldConfig) -> Result:
        from crm.models import ContactSource
        from crm.services.contacts import contact_update

        contact = _contact_required(ctx, "Updating a field")
        value = ctx.render(config.value)
        standard = config.field in UPDATABLE_FIELDS
        data = {config.field: value} if standard else {"custom_fields": {config.field: value}}
        try:
            updated = contact_update(contact=contact, data=data, source=ContactSource.WORKFLOW)
        except ValidationError as exc:
            raise _service_error(exc) from None
        # Later steps of this execution see the new value without reading the contact again.
        for name in (*UPDATABLE_FIELDS, "custom_fields", "updated_at"):
            setattr(contact, name, getattr(updated, name))
        stored = (
            getattr(updated, config.field)
            if config.field in UPDATABLE_FIELDS
            else updated.custom_fields.get(config.field)
        )
        return Result(output={"field": config.field, "value": stored})

    def simulate(self, ctx: StepContext, config: UpdateFieldConfig) -> Result:
        return Result(output={"simulated": True, "field": config.field, "value": ctx.render(config.value)})

    def config_errors(self, config: UpdateFieldConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        if config.field in ("email", "status"):
            return {"field": [f"A workflow can't change a contact's {config.field}."]}
        if workspace is None or config.field in UPDATABLE_FIELDS:
            return {}
        return custom_field_errors(config.field, workspace=workspace)


class AdjustScoreConfig(NodeConfig):
    points: int = Field(
        strict=True, ge=-POINTS_MAX, le=POINTS_MAX, description="Points to add (negative to take away)."
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = Field(
        default="", description="Why, for the contact's timeline."
    )

    @field_validator("points")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("Not 0.")
        return value


@register
class AdjustScore(NodeType):
    type = "adjust_score"
    kind = "action"
    name = "Adjust score"
    description = "Add points to the contact's score, or take them away."
    Config = AdjustScoreConfig
    side_effect = True

    def run(self, ctx: StepContext, config: AdjustScoreConfig) -> Result:
        from crm.services.scoring import score_adjust

        contact = _contact_required(ctx, "Adjusting the score")
        if config.points < 0 and contact.score <= 0:
            return Result(output={"points": 0, "score": contact.score})
        try:
            change = score_adjust(contact=contact, points=config.points, note=config.reason or "Workflow")
        except ValidationError as exc:
            raise _service_error(exc) from None
        return Result(output={"points": change.points, "score": contact.score})

    def simulate(self, ctx: StepContext, config: AdjustScoreConfig) -> Result:
        score = ctx.contact.score if ctx.contact is not None else 0
        return Result(output={"simulated": True, "points": config.points, "score": max(score + config.points, 0)})


class AddNoteConfig(NodeConfig):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)] = Field(
        description="The note (a template).", json_schema_extra={"format": "template-textarea"}
    )


@register
class AddNote(NodeType):
    type = "add_note"
    kind = "action"
    name = "Add note"
    description = "Add a note to the contact's timeline."
    Config = AddNoteConfig
    side_effect = True
    template_fields = ("text",)

    def run(self, ctx: StepContext, config: AddNoteConfig) -> Result:
        from crm.services.contacts import contact_note_add

        contact = _contact_required(ctx, "Adding a note")
        try:
            activity = contact_note_add(contact=contact, text=ctx.render(config.text))
        except ValidationError as exc:
            raise _service_error(exc) from None
        return Result(output={"activity_id": activity.pk, "text": activity.data["text"]})

    def simulate(self, ctx: StepContext, config: AddNoteConfig) -> Result:
        return Result(output={"simulated": True, "text": ctx.render(config.text)})


# --- The team -----------------------------------------------------------------------------------------------------


class NotifyTeamConfig(NodeConfig):
    roles: list[Literal["owner", "admin", "editor", "viewer"]] = Field(
        default_factory=list, max_length=4, description="Members with these roles."
    )
    members: list[RowId] = Field(
        default_factory=list,
        max_length=100,
        description="These members (user ids).",
        json_schema_extra={"format": "members"},
    )
    subject: TemplateLine = Field(description="The subject (a template).")
    message: TemplateText = Field(default="", description="The message (a template).")


@register
class NotifyTeam(NodeType):
    type = "notify_team"
    kind = "action"
    name = "Notify team"
    description = "Email members of your team (by role, or by name)."
    Config = NotifyTeamConfig
    side_effect = True
    template_fields = ("subject", "message")

    def _recipients(self, ctx: StepContext, config: NotifyTeamConfig):
        from django.db.models import Q

        from accounts.models import Membership

        members = (
            Membership.objects.filter(workspace=ctx.workspace, user__is_active=True)
            .filter(Q(role__in=config.roles) | Q(user_id__in=config.members))
            .select_related("user")
            .order_by("user_id")
        )
        return [membership.user for membership in members]

    def _message(self, ctx: StepContext, config: NotifyTeamConfig) -> tuple[str, str, str]:
        from markupsafe import escape

        subject = " ".join(ctx.render(config.subject).split())[:200]
        text = ctx.render(config.message)
        # Escaped whole, braces and all: the text is already rendered, and contact data in it that
        # looks like a template tag is still just data.
        html = str(escape(text)).replace("\n", "<br>\n")
        return subject, f"<p>{html}</p>", text

    def run(self, ctx: StepContext, config: NotifyTeamConfig) -> Result:
        from campaigns.models import SendKind
        from campaigns.services.sends import email_send_create

        subject, html, text = self._message(ctx, config)
        if not subject:
            raise StepError("The subject is empty.")
        sends = []
        for user in self._recipients(ctx, config):
            try:
                send, _ = email_send_create(
                    workspace=ctx.workspace,
                    kind=SendKind.TRANSACTIONAL,
                    idempotency_key=f"{ctx.key}:{user.pk}",
                    subject=subject,
                    html=html,
                    text=text,
                    to_email=user.email,
                    ref=ctx.key,
                )
            except ValidationError as exc:
                raise _service_error(exc) from None
            sends.append({"user_id": user.pk, "to": user.email, "send_id": send.pk, "status": send.status})
        return Result(output={"subject": subject, "sent": sends})

    def simulate(self, ctx: StepContext, config: NotifyTeamConfig) -> Result:
        subject, _, text = self._message(ctx, config)
        recipients = [user.email for user in self._recipients(ctx, config)]
        return Result(output={"simulated": True, "to": recipients, "subject": subject, "text": text})

    def config_errors(self, config: NotifyTeamConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        if not config.roles and not config.members:
            return {"roles": ["Choose roles or members to notify."]}
        if workspace is None or not config.members:
            return {}
        from accounts.models import Membership

        known = set(
            Membership.objects.filter(workspace=workspace, user_id__in=config.members).values_list("user_id", flat=True)
        )
        missing = [user_id for user_id in config.members if user_id not in known]
        return {"members": [f"Not members of this workspace: {', '.join(map(str, missing))}."]} if missing else {}


# --- Other workflows, and the end ------------------------------------------------------------------------------------


#: How many workflows deep one may enroll into the next (A → B → C …).
MAX_ENROLL_DEPTH = 10


def _enroll_chain(ctx: StepContext) -> list[int]:
    """The workflows that led here by enrolling, this one last: A enrolling into B enrolling into A
    would otherwise start executions without end, each under a new key."""
    enrolled_by = ctx.trigger.get("enrolled_by") if isinstance(ctx.trigger, dict) else None
    chain = enrolled_by.get("chain") if isinstance(enrolled_by, dict) else None
    chain = [pk for pk in chain if isinstance(pk, int)] if isinstance(chain, list) else []
    return [*chain, ctx.execution.workflow_id] if ctx.execution is not None else chain


class EnrollWorkflowConfig(NodeConfig):
    workflow: RowId = Field(
        description="The workflow to start for this contact.", json_schema_extra={"format": "workflow"}
    )


@register
class EnrollWorkflow(NodeType):
    type = "enroll_workflow"
    kind = "action"
    name = "Enroll in workflow"
    description = "Start another (active) workflow for the contact."
    Config = EnrollWorkflowConfig
    side_effect = True

    def _target(self, ctx: StepContext, config: EnrollWorkflowConfig):
        from workflows.models import Workflow

        workflow = Workflow.objects.filter(workspace=ctx.workspace, pk=config.workflow).first()
        if workflow is None:
            raise StepError("The workflow to enroll in no longer exists.")
        if ctx.execution is not None and workflow.pk == ctx.execution.workflow_id:
            raise StepError("A workflow can't enroll contacts into itself.")
        chain = _enroll_chain(ctx)
        if workflow.pk in chain:
            raise StepError(f"Enrolling into {workflow.name!r} would loop: it led to this execution.")
        if len(chain) >= MAX_ENROLL_DEPTH:
            raise StepError(f"Workflows enroll into each other at most {MAX_ENROLL_DEPTH} deep.")
        return workflow

    def run(self, ctx: StepContext, config: EnrollWorkflowConfig) -> Result:
        from workflows.services.executions import execution_start

        workflow = self._target(ctx, config)
        execution = execution_start(
            workflow=workflow,
            contact=ctx.contact,
            trigger_data=self._trigger_data(ctx),
            trigger_key=ctx.key,
        )
        return Result(
            output={
                "workflow_id": workflow.pk,
                "execution_id": execution.pk if execution is not None else None,
                "started": execution is not None,
            }
        )

    def _trigger_data(self, ctx: StepContext) -> dict:
        return {
            "enrolled_by": {
                "workflow_id": ctx.execution.workflow_id if ctx.execution is not None else None,
                "execution_id": ctx.execution.pk if ctx.execution is not None else None,
                "node_id": ctx.node_id,
                "chain": _enroll_chain(ctx),
            },
            "trigger": ctx.trigger,
        }

    def simulate(self, ctx: StepContext, config: EnrollWorkflowConfig) -> Result:
        workflow = self._target(ctx, config)
        return Result(
            output={"simulated": True, "workflow_id": workflow.pk, "workflow": workflow.name, "status": workflow.status}
        )

    def config_errors(self, config: EnrollWorkflowConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        if workspace is None:
            return {}
        from workflows.models import Workflow

        if not Workflow.objects.filter(workspace=workspace, pk=config.workflow).exists():
            return {"workflow": ["No such workflow in this workspace."]}
        return {}


@register
class Exit(NodeType):
    type = "exit"
    kind = "action"
    name = "Exit"
    description = "End the execution here (branches still queued are dropped)."

    def ports(self, config: NodeConfig) -> list[str]:
        return []

    def run(self, ctx: StepContext, config: NodeConfig) -> Result:
        return Result(output={"exited": True}, exit=True)
