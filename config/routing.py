"""WebSocket routes; each app that speaks WebSocket adds its own here."""

from workflows.routing import websocket_urlpatterns as workflow_routes

websocket_urlpatterns: list = [*workflow_routes]
