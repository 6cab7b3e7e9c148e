"""Celery tasks of the email app: delivery (claiming and sending ledger rows) and the campaign
lifecycle (audience snapshot, schedules, A/B decisions). Thin: they take ids and call services."""

from campaigns.tasks import delivery, lifecycle  # noqa: F401  (registers the tasks)
