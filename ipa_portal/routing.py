"""WebSocket routes (the work item and monitor consumers arrive with their issues)."""

websocket_urlpatterns: list = []
