"""WebSocket routes. Each path is accepted with or without its trailing slash."""

from django.urls import re_path

from monitor.consumers import MonitorConsumer
from workitems.consumers import WorkItemConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/workitems/?$", WorkItemConsumer.as_asgi()),
    re_path(r"^ws/monitor/?$", MonitorConsumer.as_asgi()),
]
