"""The domain events the CRM emits, for workflows (and anything else) to trigger on.

Payloads carry ids, not personal data: the event log outlives a contact's erasure.
"""

CONTACT_CREATED = "contact.created"  # {contact_id, source, source_ref}
CONTACT_UPDATED = "contact.updated"  # {contact_id, changed: [field, …]}
TAG_ADDED = "tag.added"  # {contact_id, tag_id, tag}
TAG_REMOVED = "tag.removed"  # {contact_id, tag_id, tag}
SCORE_CHANGED = "score.changed"  # {contact_id, score, previous, points, reason, rule_id}
CONTACT_ERASED = "contact.erased"  # {contact_id}: every trace of the person is gone; drop any reference
CONTACT_UNSUBSCRIBED = "contact.unsubscribed"  # {contact_id, source}
CONTACT_OPTIN_REQUESTED = "contact.optin_requested"  # {contact_id, component_id, submission_id}: mail a confirmation
CONTACT_CONFIRMED = "contact.confirmed"  # {contact_id, component_id}: double opt-in confirmed
