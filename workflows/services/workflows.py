"""Workflows: creating and editing the draft, activating it as a new immutable version, pausing,
restoring an older version, deleting.

The draft (`Workflow.definition`) is checked in full on every save, so what the editor saved can
always be activated unless something it names (a segment, a sender) was deleted since; activation
checks it again against the workspace as it is then. A version is written only when the draft
differs from the latest one, so activating twice, or pausing and re-activating, keeps the version
number executions already pin.
"""

import copy
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from crm.services.fields import all_or_errors
from workflows.models import Workflow, WorkflowStatus, WorkflowVersion

NAME_MAX = Workflow._meta.get_field("name").max_length
DESCRIPTION_MAX = 2000
#: A new workflow without a template: started by hand, nothing to do yet.
DEFAULT_DEFINITION = {"trigger": {"type": "manual", "config": {}}, "nodes": [], "edges": []}
FIELDS = ("name", "description", "definition")


def _user(actor) -> User | None:
    # API keys act without a user; only a person is recorded as the author.
    return actor if isinstance(actor, User) else None


def _text(field: str, value, limit: int, *, required: str = "", multiline: bool = False) -> str:
    if value is not None and not isinstance(value, str):
        raise ValidationError({field: ["Expected text."]})
    text = (value or "").strip() if multiline else " ".join((value or "").split())
    if "\x00" in text:
        raise ValidationError({field: ["Text can't contain a null character."]})
    if required and not text:
        raise ValidationError({field: [required]})
    if len(text) > limit:
        raise ValidationError({field: [f"At most {limit} characters."]})
    return text


def _unstorable_text(definition):
    """Paths of strings (keys included) the database can't store in JSON: a null character, or an
    unpaired surrogate. Nodes are named by their id, as the definition's other errors are. Walked
    with a stack of its own: a deeply nested value is the input's problem, not a recursion error."""
    stack = [("", definition)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                yield path, "Text can't contain a null character."
            else:
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    yield path, "Text must be valid Unicode (it holds an unpaired surrogate)."
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}".lstrip(".")
                stack.extend([(child, item), (child, str(key))])
        elif isinstance(value, list):
            for index, item in enumerate(value):
                label = item.get("id") if path == "nodes" and isinstance(item, dict) else None
                label = label if isinstance(label, str) and label.isprintable() and label else str(index)
                stack.append((f"{path}.{label}", item))


def workflow_definition_clean(
    *, workspace, definition, workflow: Workflow | None = None, field: str = "definition"
) -> dict:
    """The definition checked in full against the workspace (and `workflow`: a step may not enroll
    contacts into the workflow itself) and normalised; a ValidationError keyed under `field`
    otherwise ("definition.nodes.<id>.config.<field>"), the keys the editor maps onto its nodes."""
    from workflows.definition import definition_clean

    if not isinstance(definition, dict):
        raise ValidationError({field: ['Expected an object: {"trigger", "nodes", "edges", "reentry"?}.']})
    unstorable = {}
    for path, message in _unstorable_text(definition):
        unstorable.setdefault(f"{field}.{path}" if path else field, [message])
    if unstorable:
        raise ValidationError(unstorable)
    try:
        return definition_clean(definition, workspace=workspace, workflow=workflow)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise ValidationError(
                {
                    f"{field}.{key}" if key not in ("", "__all__") else field: errors
                    for key, errors in exc.message_dict.items()
                }
            ) from None
        raise ValidationError({field: exc.messages}) from None


def _clean(workflow: Workflow, changes: dict) -> dict:
    """Every given field cleaned, one ValidationError naming each bad one."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise TypeError(f"Not a workflow field: {', '.join(sorted(unknown))}")
    cleaners = {
        "name": lambda v: _text("name", v, NAME_MAX, required="A workflow needs a name."),
        "description": lambda v: _text("description", v, DESCRIPTION_MAX, multiline=True),
        "definition": lambda v: workflow_definition_clean(
            workspace=workflow.workspace, definition=v, workflow=workflow if workflow.pk else None
        ),
    }
    names = list(changes)
    return dict(zip(names, all_or_errors(*(partial(cleaners[name], changes[name]) for name in names)), strict=True))


def _template(slug) -> dict:
    from workflows.library import workflow_template

    if not isinstance(slug, str):
        raise ValidationError({"template": ["Expected a template's slug."]})
    found = workflow_template(slug)
    if found is None:
        raise ValidationError({"template": [f"No workflow template {slug[:64]!r}."]})
    return found


@transaction.atomic
def workflow_create(
    *,
    workspace,
    name: str = "",
    description: str = "",
    definition: dict | None = None,
    template: str = "",
    actor=None,
) -> Workflow:
    """A draft. From a library template (its slug) its definition, name and description are the
    starting point; a definition or name given as well wins."""
    workflow = Workflow(workspace=workspace, created_by=_user(actor))
    if template:
        found = _template(template)
        workflow.template = found["slug"]
        name = name or found["name"]
        description = description or found.get("description", "")
        definition = definition if definition is not None else copy.deepcopy(found["definition"])
    if definition is None:
        definition = copy.deepcopy(DEFAULT_DEFINITION)
    cleaned = _clean(workflow, {"name": name, "description": description, "definition": definition})
    for field, value in cleaned.items():
        setattr(workflow, field, value)
    workflow.save()
    return workflow


def _locked(workflow: Workflow) -> Workflow:
    return Workflow.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=workflow.pk)


@transaction.atomic
def workflow_update(*, workflow: Workflow, actor=None, **changes) -> Workflow:
    """Change the name, description or draft definition. An active workflow keeps running the
    version it was activated with until it is activated again."""
    workflow = _locked(workflow)
    for field, value in _clean(workflow, changes).items():
        setattr(workflow, field, value)
    workflow.save()
    return workflow


def _trigger_index(definition: dict) -> tuple[str, str]:
    """The trigger's type and narrowing ref, copied to the workflow for the handlers' lookup."""
    from workflows.nodes import get_node_type

    trigger = definition["trigger"]
    node_type = get_node_type(trigger["type"])
    return trigger["type"], node_type.ref(node_type.Config.model_validate(trigger.get("config") or {}))


def _signs(definition: dict) -> bool:
    """Whether the workflow uses its signing key: a webhook trigger checks calls with it, an
    http_request step signs with it."""
    return definition["trigger"]["type"] == "webhook" or any(
        node["type"] == "http_request" for node in definition["nodes"]
    )


def _schedule_sync(workflow: Workflow) -> None:
    from workflows.schedule import schedule_sync

    schedule_sync(workflow=workflow)


@transaction.atomic
def workflow_activate(*, workflow: Workflow, actor=None) -> WorkflowVersion:
    """Start running the draft: it is checked in full, frozen as a new version unless it equals the
    latest one, and becomes what new executions start on. Executions in flight keep their version."""
    workflow = _locked(workflow)
    definition = workflow_definition_clean(
        workspace=workflow.workspace, definition=workflow.definition, workflow=workflow
    )
    latest = WorkflowVersion.objects.filter(workflow=workflow).order_by("-number").first()
    if latest is None or latest.definition != definition:
        latest = WorkflowVersion.objects.create(
            workspace=workflow.workspace,
            workflow=workflow,
            number=(latest.number + 1) if latest else 1,
            definition=definition,
            created_by=_user(actor),
        )
    if _signs(definition) and not workflow.hook_secret:
        from workflows.nodes.external import hook_secret_ensure

        # Callers of a webhook need the key before the first call, not after it.
        workflow.hook_secret = hook_secret_ensure(workflow_id=workflow.pk)
    workflow.definition = definition
    workflow.active_version = latest
    workflow.status = WorkflowStatus.ACTIVE
    workflow.trigger_type, workflow.trigger_ref = _trigger_index(definition)
    workflow.save()
    _schedule_sync(workflow)
    return latest


@transaction.atomic
def workflow_pause(*, workflow: Workflow, actor=None) -> Workflow:
    """Stop starting new executions; those in flight run to their end on their versions."""
    workflow = _locked(workflow)
    if workflow.status != WorkflowStatus.ACTIVE:
        current = workflow.get_status_display().lower()
        raise ValidationError({"status": [f"This workflow is {current}; only an active workflow can be paused."]})
    workflow.status = WorkflowStatus.PAUSED
    workflow.save(update_fields=["status", "updated_at"])
    _schedule_sync(workflow)
    return workflow


@transaction.atomic
def workflow_version_restore(*, workflow: Workflow, version: WorkflowVersion, actor=None) -> Workflow:
    """Make an older version the draft again; an active workflow is re-activated with it, which
    writes it as a new version (history is never rewritten)."""
    workflow = _locked(workflow)
    if version.workflow_id != workflow.pk:
        raise ValidationError({"version": ["That version belongs to another workflow."]})
    workflow.definition = workflow_definition_clean(
        workspace=workflow.workspace, definition=copy.deepcopy(version.definition), workflow=workflow
    )
    workflow.save(update_fields=["definition", "updated_at"])
    if workflow.status == WorkflowStatus.ACTIVE:
        workflow_activate(workflow=workflow, actor=actor)
        workflow.refresh_from_db()
    return workflow


@transaction.atomic
def workflow_delete(*, workflow: Workflow) -> None:
    """Delete the workflow with its versions and executions. Its schedule goes first: the beat entry
    is not owned by the row and would otherwise outlive it."""
    workflow = _locked(workflow)
    if workflow.status == WorkflowStatus.ACTIVE:
        workflow.status = WorkflowStatus.PAUSED
        workflow.save(update_fields=["status", "updated_at"])
    _schedule_sync(workflow)
    workflow.delete()
