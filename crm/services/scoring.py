"""Lead scoring: workspace rules turn activities into points, inactivity decays them, and a person may
adjust them by hand.

Every change is one ScoreChange row, one `score_changed` timeline entry and one `score.changed` event,
so a contact's changes always add up to its score. A score never goes below zero: a marketer reads it
as interest, and "less than no interest" sorts and segments badly. Each path clamps at zero and records
the points it actually applied (a -10 rule on a score of 3 records -3), which keeps the sum exact.
"""

import datetime
import math
import zoneinfo
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from pydantic import AfterValidator, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from accounts.models import Workspace
from builder.components.base import errors_from_pydantic
from core.events import emit, emit_many
from crm.events import SCORE_CHANGED
from crm.models import (
    ActivityKind,
    Contact,
    ContactActivity,
    ScoreChange,
    ScorePeriod,
    ScoreReason,
    ScoringRule,
    ScoringSettings,
)
from crm.selectors.scoring import contacts_due_for_decay, scoring_rules_for
from crm.services.activities import activity_record

POINTS_MAX = 10_000
NOTE_MAX = 500
DECAY_BATCH = 1000

# --- Rule conditions --------------------------------------------------------------------------------
#
# {"ref": "<id>"} matches the activity's ref (a form's component id, a campaign id…);
# {"data.<key>[.<key>…]": value} matches a value in the activity's data, e.g. {"data.form_type":
# "newsletter"} or {"data.answers.plan": "pro"}. A list of values matches any of them. Values match as
# text, ignoring case and surrounding spaces (a form answer "Pro" matches "pro", "5" matches 5); a list
# in the activity's data (checkbox answers) matches when any of its items does. All conditions must hold.

CONDITIONS_MAX = 10
VALUES_MAX = 50
TEXT_MAX = 200
_DATA_DEPTH = 4


def _condition_key(key: str) -> str:
    parts = key.split(".")
    if key == "ref" or (parts[0] == "data" and 1 < len(parts) <= _DATA_DEPTH + 1 and all(parts[1:])):
        return key
    raise ValueError('Use "ref" or "data.<key>" (up to four keys deep, e.g. "data.answers.plan").')


def _scalar(value):
    if isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    if isinstance(value, str) and len(value) <= TEXT_MAX:
        return value
    raise ValueError(f"Must be text (at most {TEXT_MAX} characters), a number, true or false, or a list of those.")


def _condition_value(value):
    if isinstance(value, list):
        if not 1 <= len(value) <= VALUES_MAX:
            raise ValueError(f"A list of values needs 1 to {VALUES_MAX} items.")
        return [_scalar(item) for item in value]
    return _scalar(value)


_CONDITIONS = TypeAdapter(
    Annotated[
        dict[Annotated[str, AfterValidator(_condition_key)], Annotated[Any, AfterValidator(_condition_value)]],
        Field(max_length=CONDITIONS_MAX),
    ]
)


def conditions_clean(conditions) -> dict:
    """The conditions checked; a ValidationError naming each bad one by its path, e.g.
    `conditions.data.form_type`, otherwise."""
    if conditions is None:
        return {}
    if not isinstance(conditions, dict):
        raise ValidationError({"conditions": ['Must be an object, e.g. {"ref": "<form id>"}.']})
    try:
        return _CONDITIONS.validate_python(conditions)
    except PydanticValidationError as exc:
        raise ValidationError(errors_from_pydantic(exc, prefix="conditions")) from None


def _text(value) -> str:
    return str(value).strip().lower()


def _value_matches(found, expected) -> bool:
    if isinstance(found, list):
        return any(_value_matches(item, expected) for item in found)
    if found is None or isinstance(found, dict):
        return False
    wanted = expected if isinstance(expected, list) else [expected]
    return any(_text(found) == _text(item) for item in wanted)


def conditions_match(conditions: dict, activity: ContactActivity) -> bool:
    for key, expected in conditions.items():
        if key == "ref":
            found = activity.ref
        else:
            found = activity.data
            for part in key.split(".")[1:]:
                found = found.get(part) if isinstance(found, dict) else None
        if not _value_matches(found, expected):
            return False
    return True


# --- Rules ------------------------------------------------------------------------------------------

#: A rule on score changes would score the scoring.
_NOT_SCORABLE = {ActivityKind.SCORE_CHANGED}
NAME_MAX = ScoringRule._meta.get_field("name").max_length
RULE_FIELDS = ("name", "event_type", "conditions", "points", "cap_points", "cap_period", "is_active")


POINTS_MESSAGE = f"A whole number from -{POINTS_MAX} to {POINTS_MAX}, not 0."


def _points_valid(points) -> bool:
    """Points a rule gives or a person adds by hand: a whole number, not 0, within ±POINTS_MAX."""
    return isinstance(points, int) and not isinstance(points, bool) and 0 < abs(points) <= POINTS_MAX


def _rule_clean(values: dict) -> dict:
    errors: dict[str, list[str]] = {}
    name = " ".join(str(values.get("name") or "").split())
    if not name:
        errors["name"] = ["A rule needs a name."]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"At most {NAME_MAX} characters."]
    if values.get("event_type") not in ActivityKind.values or values.get("event_type") in _NOT_SCORABLE:
        choices = ", ".join(kind for kind in ActivityKind.values if kind not in _NOT_SCORABLE)
        errors["event_type"] = [f"{values.get('event_type')!r} is not one of: {choices}."]
    if not _points_valid(values.get("points")):
        errors["points"] = [POINTS_MESSAGE]
    cap_points, cap_period = values.get("cap_points"), values.get("cap_period") or ""
    if cap_period and cap_period not in ScorePeriod.values:
        errors["cap_period"] = [f"{cap_period!r} is not one of: {', '.join(ScorePeriod.values)}."]
    if cap_points is not None and (isinstance(cap_points, bool) or not isinstance(cap_points, int) or cap_points < 1):
        errors["cap_points"] = ["A whole number of at least 1, or null for no cap."]
    elif cap_points is not None and not cap_period:
        errors["cap_period"] = ["A cap needs its period: day, week, month or ever."]
    elif cap_points is None and cap_period:
        errors["cap_points"] = ["A cap period needs the points it caps."]
    try:
        conditions = conditions_clean(values.get("conditions"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return {
        **values,
        "name": name,
        "conditions": conditions,
        "cap_period": cap_period,
        "is_active": bool(values.get("is_active", True)),
    }


@transaction.atomic
def scoring_rule_create(
    *,
    workspace,
    name: str,
    event_type: str,
    points: int,
    conditions: dict | None = None,
    cap_points: int | None = None,
    cap_period: str = "",
    is_active: bool = True,
) -> ScoringRule:
    values = _rule_clean(
        {
            "name": name,
            "event_type": event_type,
            "points": points,
            "conditions": conditions,
            "cap_points": cap_points,
            "cap_period": cap_period,
            "is_active": is_active,
        }
    )
    return ScoringRule.objects.create(workspace=workspace, **values)


@transaction.atomic
def scoring_rule_update(*, rule: ScoringRule, **changes) -> ScoringRule:
    """Set the given fields (any of RULE_FIELDS); the result is checked whole. Scores already given
    stay: a rule's changes keep the name it had when they were made."""
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError({name: ["Not a field of a scoring rule."] for name in sorted(unknown)})
    values = _rule_clean({name: getattr(rule, name) for name in RULE_FIELDS} | changes)
    for name in RULE_FIELDS:
        setattr(rule, name, values[name])
    rule.save()
    return rule


def scoring_rule_delete(*, rule: ScoringRule) -> None:
    """The points the rule gave stay: each change keeps the rule's name."""
    rule.delete()


# --- Applying points ----------------------------------------------------------------------------------


def _locked_score(contact_id: int) -> int:
    # The row lock serialises every writer of this contact's score (and the cap sums read under it).
    return Contact.objects.select_for_update().filter(pk=contact_id).values_list("score", flat=True).get()


def _change_record(
    *,
    contact: Contact,
    score: int,
    points: int,
    reason: ScoreReason,
    rule: ScoringRule | None = None,
    cause: ContactActivity | None = None,
    note: str = "",
    actor=None,
    at: datetime.datetime | None = None,
) -> ScoreChange | None:
    """Apply `points` to a contact whose score (`score`, read under the row lock) is known; clamps at
    zero and records the change, or returns None when nothing changes."""
    applied = max(score + points, 0) - score
    if not applied:
        return None
    at = at or timezone.now()
    new = score + applied
    Contact.objects.filter(pk=contact.pk).update(score=F("score") + applied)
    contact.score = new
    rule_name = rule.name if rule else ""
    data = {"points": applied, "score": new, "previous": score, "reason": reason, "rule_id": rule and rule.pk}
    if rule:
        data |= {"rule_name": rule_name, "activity_id": cause and cause.pk}
    if note:
        data["note"] = note
    timeline = activity_record(
        contact=contact,
        kind=ActivityKind.SCORE_CHANGED,
        ref=str(rule.pk) if rule else "",
        data=data,
        source="scoring" if rule else reason,
        actor=actor,
        at=at,
        score=False,
    )
    change = ScoreChange.objects.create(
        workspace_id=contact.workspace_id,
        contact=contact,
        points=applied,
        reason=reason,
        rule=rule,
        rule_name=rule_name,
        # The rule's cause when there is one; otherwise the timeline entry, which holds a manual note.
        activity=cause or timeline,
        at=at,
    )
    emit(
        workspace=contact.workspace_id,
        type=SCORE_CHANGED,
        payload={
            "contact_id": contact.pk,
            "score": new,
            "previous": score,
            "points": applied,
            "reason": reason,
            "rule_id": rule and rule.pk,
        },
        subject=contact,
    )
    return change


def period_bounds(period: str, at: datetime.datetime, tz_name: str) -> tuple[datetime.datetime, datetime.datetime]:
    """The calendar day, week (from Monday) or month around `at`, in the workspace's time zone."""
    local = at.astimezone(zoneinfo.ZoneInfo(tz_name))
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == ScorePeriod.DAY:
        start, end = day, day + datetime.timedelta(days=1)
    elif period == ScorePeriod.WEEK:
        start = day - datetime.timedelta(days=local.weekday())
        end = start + datetime.timedelta(days=7)
    else:
        start = day.replace(day=1)
        end = (start + datetime.timedelta(days=32)).replace(day=1)
    # Aware arithmetic here is wall-clock arithmetic: a DST change inside the period moves neither end.
    return start, end


def _capped(rule: ScoringRule, *, contact_id: int, at: datetime.datetime, tz_name) -> int:
    """The rule's points, cut down to what its cap leaves for this contact in the period of `at`."""
    if rule.cap_points is None:
        return rule.points
    changes = ScoreChange.objects.filter(contact_id=contact_id, rule=rule)
    if rule.cap_period != ScorePeriod.EVER:
        start, end = period_bounds(rule.cap_period, at, tz_name())
        changes = changes.filter(at__gte=start, at__lt=end)
    used = abs(changes.aggregate(total=Sum("points"))["total"] or 0)
    left = max(rule.cap_points - used, 0)
    return int(math.copysign(min(abs(rule.points), left), rule.points))


def score_activity(*, activity: ContactActivity) -> int:
    """Apply the workspace's scoring rules to a new activity; returns the points added."""
    rules = [
        rule
        for rule in scoring_rules_for(workspace_id=activity.workspace_id, kind=activity.kind)
        if conditions_match(rule.conditions, activity)
    ]
    if not rules:  # most activities: one query, and no savepoint
        return 0
    with transaction.atomic():
        return _rules_apply(rules, activity)


def _rules_apply(rules: list[ScoringRule], activity: ContactActivity) -> int:
    contact = activity.contact
    score = _locked_score(contact.pk)
    zone: list[str] = []

    def tz_name() -> str:
        if not zone:
            zone.append(Workspace.objects.filter(pk=contact.workspace_id).values_list("timezone", flat=True).get())
        return zone[0]

    total = 0
    for rule in rules:
        points = _capped(rule, contact_id=contact.pk, at=activity.at, tz_name=tz_name)
        change = _change_record(
            contact=contact,
            score=score,
            points=points,
            reason=ScoreReason.RULE,
            rule=rule,
            cause=activity,
            at=activity.at,
        )
        if change:
            score += change.points
            total += change.points
    return total


@transaction.atomic
def score_adjust(*, contact: Contact, points: int, note: str = "", actor=None) -> ScoreChange:
    """A change by hand, with an optional note saying why (kept on the timeline)."""
    note = str(note or "").strip()
    errors = {}
    if not _points_valid(points):
        errors["points"] = [POINTS_MESSAGE]
    if len(note) > NOTE_MAX:
        errors["note"] = [f"At most {NOTE_MAX} characters."]
    if errors:
        raise ValidationError(errors)
    change = _change_record(
        contact=contact,
        score=_locked_score(contact.pk),
        points=points,
        reason=ScoreReason.MANUAL,
        note=note,
        actor=actor,
    )
    if change is None:
        raise ValidationError({"points": ["The score is 0 already; it cannot go lower."]})
    return change


# --- Settings and decay -------------------------------------------------------------------------------

DECAY_DAYS_MAX = 3650


@transaction.atomic
def scoring_settings_update(
    *, workspace, decay_enabled: bool, decay_after_days: int, decay_points: int
) -> ScoringSettings:
    errors = {}
    if isinstance(decay_after_days, bool) or not isinstance(decay_after_days, int):
        errors["decay_after_days"] = ["A whole number of days."]
    elif not 1 <= decay_after_days <= DECAY_DAYS_MAX:
        errors["decay_after_days"] = [f"From 1 to {DECAY_DAYS_MAX} days."]
    if isinstance(decay_points, bool) or not isinstance(decay_points, int) or not 1 <= decay_points <= POINTS_MAX:
        errors["decay_points"] = [f"A whole number from 1 to {POINTS_MAX}."]
    if errors:
        raise ValidationError(errors)
    settings, _ = ScoringSettings.objects.select_for_update().update_or_create(
        workspace=workspace,
        defaults={
            "decay_enabled": bool(decay_enabled),
            "decay_after_days": decay_after_days,
            "decay_points": decay_points,
        },
    )
    return settings


def _decay_batch(settings: ScoringSettings, *, now: datetime.datetime, cutoff: datetime.datetime) -> int:
    """One batch of a workspace's due contacts: scores lowered in one UPDATE, and the changes, timeline
    entries and events written in one INSERT each. Returns how many contacts it decayed (0: done)."""
    with transaction.atomic():
        rows = list(
            contacts_due_for_decay(workspace_id=settings.workspace_id, cutoff=cutoff)
            .select_for_update()
            .values_list("pk", "score")[:DECAY_BATCH]
        )
        if not rows:
            return 0
        step = settings.decay_points
        Contact.objects.filter(pk__in=[pk for pk, _ in rows]).update(score=Greatest(F("score") - step, Value(0)))
        changes = [(pk, score, max(score - step, 0) - score) for pk, score in rows]
        activities = ContactActivity.objects.bulk_create(
            ContactActivity(
                workspace_id=settings.workspace_id,
                contact_id=pk,
                kind=ActivityKind.SCORE_CHANGED,
                data={"points": points, "score": score + points, "previous": score, "reason": ScoreReason.DECAY},
                source=ScoreReason.DECAY,
                at=now,
            )
            for pk, score, points in changes
        )
        ScoreChange.objects.bulk_create(
            ScoreChange(
                workspace_id=settings.workspace_id,
                contact_id=pk,
                points=points,
                reason=ScoreReason.DECAY,
                activity=activity,
                at=now,
            )
            for (pk, score, points), activity in zip(changes, activities, strict=True)
        )
        emit_many(
            workspace=settings.workspace_id,
            events=[
                (
                    SCORE_CHANGED,
                    {
                        "contact_id": pk,
                        "score": score + points,
                        "previous": score,
                        "points": points,
                        "reason": ScoreReason.DECAY,
                        "rule_id": None,
                    },
                    f"{Contact._meta.label_lower}:{pk}",
                )
                for pk, score, points in changes
            ],
        )
        return len(rows)


def score_decay_run(*, now: datetime.datetime | None = None) -> int:
    """Lower the scores of contacts quiet for longer than their workspace's `decay_after_days`, once
    per such period (so running it twice a day changes nothing the second time); never below zero.
    Returns how many contacts it decayed."""
    now = now or timezone.now()
    decayed = 0
    for settings in ScoringSettings.objects.filter(
        decay_enabled=True, decay_points__gt=0, decay_after_days__gt=0
    ).order_by("pk"):
        cutoff = now - datetime.timedelta(days=settings.decay_after_days)
        # Each batch's contacts now have a decay change after the cutoff, so the next batch is new ones.
        while done := _decay_batch(settings, now=now, cutoff=cutoff):
            decayed += done
    return decayed
