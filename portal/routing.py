"""WebSocket routes. The live alerts socket ``/ws/alerts/`` arrives with the operations room issue."""

from typing import Any

websocket_urlpatterns: list[Any] = []
