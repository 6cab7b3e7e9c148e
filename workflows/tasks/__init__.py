"""Celery tasks of the workflows app: running executions and the sweeper (engine), and schedule
triggers firing (schedule). Thin: they take ids and call services."""

from workflows.tasks import engine, schedule  # noqa: F401  (registers the tasks)
