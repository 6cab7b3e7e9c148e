"""The contact timeline: appending activities, and what an activity does to the contact."""

import datetime

from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from accounts.models import User
from crm.models import ActivityKind, Contact, ContactActivity

#: What the contact did themselves; these keep a contact "active" (and their score from decaying).
ENGAGEMENT_KINDS = frozenset(
    {
        ActivityKind.FORM_SUBMITTED,
        ActivityKind.PAGE_VISITED,
        ActivityKind.EMAIL_OPENED,
        ActivityKind.EMAIL_CLICKED,
        ActivityKind.CONSENT_GIVEN,
    }
)


def activity_record(
    *,
    contact: Contact,
    kind: ActivityKind | str,
    ref: str = "",
    data: dict | None = None,
    source: str = "",
    actor=None,
    at: datetime.datetime | None = None,
    score: bool = True,
) -> ContactActivity:
    """Append to the timeline; an engagement moves `last_activity_at`, and scoring rules for the
    kind apply (unless `score` is False, for activities that are themselves about the score)."""
    from crm.services.scoring import score_activity  # scoring records activities too

    activity = ContactActivity.objects.create(
        workspace_id=contact.workspace_id,
        contact=contact,
        kind=kind,
        ref=str(ref)[:64],
        data=data or {},
        source=source,
        actor=actor if isinstance(actor, User) else None,
        at=at or timezone.now(),
    )
    if kind in ENGAGEMENT_KINDS:
        # Greatest(): an activity replayed late (a retried event) never moves the clock backwards.
        at = Value(activity.at)
        Contact.objects.filter(pk=contact.pk).update(last_activity_at=Greatest(Coalesce(F("last_activity_at"), at), at))
        if contact.last_activity_at is None or activity.at > contact.last_activity_at:
            contact.last_activity_at = activity.at
    if score:
        score_activity(activity=activity)
    return activity
