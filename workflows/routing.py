"""WebSocket routes of the workflows app."""

websocket_urlpatterns: list = []
