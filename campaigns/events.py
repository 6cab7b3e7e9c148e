"""The domain events the email app emits, for workflows (and anything else) to trigger on.

Payloads carry ids, not addresses: the event log outlives a contact's erasure.
"""

EMAIL_SENT = "email.sent"  # {send_id, contact_id, campaign_id, kind}
EMAIL_OPENED = "email.opened"  # {send_id, contact_id, campaign_id}: the first open a person made
EMAIL_CLICKED = "email.clicked"  # {send_id, contact_id, campaign_id, url}: the first click on each link
EMAIL_BOUNCED = "email.bounced"  # {send_id, contact_id, campaign_id, hard}
EMAIL_COMPLAINED = "email.complained"  # {send_id, contact_id, campaign_id}
CAMPAIGN_STARTED = "campaign.started"  # {campaign_id, recipients}
CAMPAIGN_FINISHED = "campaign.finished"  # {campaign_id, status}
