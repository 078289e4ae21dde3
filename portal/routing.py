"""WebSocket routes."""

from typing import Any

from django.urls import path

from analytics.consumers import AlertConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/alerts/", AlertConsumer.as_asgi()),
]
