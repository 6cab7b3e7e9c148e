"""WebSocket routes of the workflows app."""

from django.urls import path

from workflows.consumers import ExecutionConsumer

websocket_urlpatterns: list = [
    path("ws/workspaces/<int:workspace_id>/executions/", ExecutionConsumer.as_asgi()),
]
