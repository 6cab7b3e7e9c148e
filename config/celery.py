import os

from celery import Celery
from celery.signals import before_task_publish, task_prerun

from core.request_context import bind_request_id, current_request_id, new_request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("siteflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@before_task_publish.connect
def _attach_request_id(headers: dict, **_) -> None:
    """Carry the publishing request's id into the task, so its logs join the same trace."""
    if request_id := current_request_id():
        headers.setdefault("request_id", request_id)


@task_prerun.connect
def _bind_request_id(task, **_) -> None:
    bind_request_id(new_request_id(getattr(task.request, "request_id", None)))
