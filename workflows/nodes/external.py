"""Triggers started by their own entry points: webhook (POST /hooks/<token>/) and schedule (cron)."""

from workflows.nodes import register  # noqa: F401
