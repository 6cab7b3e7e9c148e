"""Reads for lead scoring: the rules an activity meets, who is due for decay, and why a score is what it is."""

import datetime

from django.db.models import Count, Exists, Max, OuterRef, Q, Sum

from crm.models import Contact, ContactQuerySet, ScoreChange, ScoreReason, ScoringRule, ScoringSettings

RECENT_CHANGES = 50
#: A daily run that starts a little earlier than the one a period before still finds its contacts due.
DECAY_SLACK = datetime.timedelta(hours=1)


def scoring_rules_for(*, workspace_id: int, kind: str) -> list[ScoringRule]:
    return list(ScoringRule.objects.filter(workspace_id=workspace_id, event_type=kind, is_active=True).order_by("pk"))


def scoring_settings_get(*, workspace) -> ScoringSettings:
    """The workspace's settings, or the defaults (unsaved) when it never changed them."""
    return ScoringSettings.objects.filter(workspace=workspace).first() or ScoringSettings(workspace=workspace)


def contacts_due_for_decay(*, workspace_id: int, cutoff: datetime.datetime) -> ContactQuerySet:
    """Contacts with points, quiet since before `cutoff` (no engagement, or none ever and created
    before it), and not decayed since it."""
    decayed = ScoreChange.objects.filter(contact=OuterRef("pk"), reason=ScoreReason.DECAY, at__gt=cutoff + DECAY_SLACK)
    return (
        Contact.objects.filter(workspace_id=workspace_id, score__gt=0)
        .filter(Q(last_activity_at__lt=cutoff) | Q(last_activity_at__isnull=True, created_at__lt=cutoff))
        .exclude(Exists(decayed))
        .order_by("pk")
    )


def _summary(rows) -> dict:
    return {
        "points": sum(row["points"] for row in rows),
        "count": sum(row["count"] for row in rows),
        "last_at": max((row["last_at"] for row in rows), default=None),
    }


def contact_score_explain(*, contact: Contact) -> dict:
    """Where the score comes from: points by rule, by decay and by hand, and the latest changes. The
    parts add up to `total_from_changes`, which equals `score` for any contact scored only through
    crm.services.scoring."""
    changes = ScoreChange.objects.filter(contact_id=contact.pk)
    score = Contact.objects.filter(pk=contact.pk).values_list("score", flat=True).get()
    groups = list(
        changes.values("reason", "rule_id", "rule_name", "rule__name")
        .annotate(points=Sum("points"), count=Count("id"), last_at=Max("at"))
        .order_by()
    )
    by_rule: dict = {}
    for row in groups:
        if row["reason"] != ScoreReason.RULE:
            continue
        # A rule renamed since is one rule; a deleted rule's changes keep the name they were given.
        key = row["rule_id"] or ("deleted", row["rule_name"])
        entry = by_rule.setdefault(
            key, {"rule_id": row["rule_id"], "rule_name": row["rule__name"] or row["rule_name"], "rows": []}
        )
        entry["rows"].append(row)
    rules = sorted(
        ({"rule_id": e["rule_id"], "rule_name": e["rule_name"], **_summary(e["rows"])} for e in by_rule.values()),
        key=lambda entry: (-abs(entry["points"]), entry["rule_name"]),
    )
    recent = changes.select_related("activity").order_by("-at", "-id")[:RECENT_CHANGES]
    return {
        "score": score,
        "total_from_changes": sum(row["points"] for row in groups),
        "by_rule": rules,
        "decay": _summary([row for row in groups if row["reason"] == ScoreReason.DECAY]),
        "manual": _summary([row for row in groups if row["reason"] == ScoreReason.MANUAL]),
        "changes": [
            {
                "id": change.pk,
                "at": change.at,
                "points": change.points,
                "reason": change.reason,
                "rule_id": change.rule_id,
                "rule_name": change.rule_name,
                "activity_kind": change.activity.kind if change.activity else None,
                "note": (change.activity.data.get("note", "") if change.activity else "")
                if change.reason == ScoreReason.MANUAL
                else "",
            }
            for change in recent
        ],
    }
