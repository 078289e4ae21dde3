"""``/ws/alerts/``: a ward's alert events, live, with replay after a reconnect.

A socket joins only the groups of wards where its user may handle alerts (``?ward=<slug>`` narrows
to one). Client messages: ``{"type": "resume", "last_event_id": N}`` replays what was missed, in
order; ``{"type": "ping"}`` answers ``pong``. Anything else gets an error message, never a crash.
The server sends ``{"type": "heartbeat"}`` every ``ALERT_HEARTBEAT_SECONDS``.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from analytics.live import events_after, group_name, relay, uses_relay
from analytics.models import ALERT_ROLES
from portal.models import Ward
from portal.querysets import ward_ids_for

MAX_MESSAGE_BYTES = 4096
SENT_MEMORY = 5000
REFUSED_ANONYMOUS = 4401
REFUSED_WARD = 4403


class AlertConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=REFUSED_ANONYMOUS)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        wards = await self._wards(user, (query.get("ward") or [""])[0])
        if not wards:
            await self.close(code=REFUSED_WARD)
            return
        self.ward_ids = wards
        self.last_sent = 0
        # Ids already sent on this socket (bounded): live events and replays may overlap in any order.
        self.sent: set[int] = set()
        self.sent_order: deque[int] = deque()
        for ward_id in wards:
            await self.channel_layer.group_add(group_name(ward_id), self.channel_name)
        if uses_relay():
            await relay.ensure_running()
        await self.accept()
        self.heartbeat = asyncio.get_running_loop().create_task(self._heartbeat())
        await self.send_json({"type": "hello", "wards": wards})
        last = (query.get("last_event_id") or [""])[0]
        if last.isdigit():
            # Replaying here, before any group message is dispatched, leaves no window for a race.
            await self._replay(int(last))

    @database_sync_to_async
    def _wards(self, user: Any, ward: str) -> list[int]:
        ids = ward_ids_for(user, ALERT_ROLES)
        allowed = Ward.objects.all() if ids is None else Ward.objects.filter(id__in=ids)
        if ward:
            allowed = allowed.filter(id=int(ward)) if ward.isdigit() else allowed.filter(slug=ward)
        return list(allowed.order_by("id").values_list("id", flat=True))

    async def disconnect(self, code: int) -> None:
        for ward_id in getattr(self, "ward_ids", []):
            await self.channel_layer.group_discard(group_name(ward_id), self.channel_name)
        heartbeat = getattr(self, "heartbeat", None)
        if heartbeat is not None:
            heartbeat.cancel()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(settings.ALERT_HEARTBEAT_SECONDS)
            await self.send_json({"type": "heartbeat", "last_event_id": self.last_sent})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if text_data is None or len(text_data) > MAX_MESSAGE_BYTES:
            await self.send_json({"type": "error", "detail": f"Send JSON text messages of at most {MAX_MESSAGE_BYTES} bytes."})
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.send_json({"type": "error", "detail": 'Not JSON. Send {"type": "resume", "last_event_id": N}.'})
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "resume":
            last = content.get("last_event_id", 0)
            if not isinstance(last, int) or isinstance(last, bool) or last < 0:
                await self.send_json({"type": "error", "detail": "last_event_id must be a non-negative integer."})
                return
            await self._replay(last)
        else:
            await self.send_json({"type": "error", "detail": 'Unknown message: use {"type": "resume"} or {"type": "ping"}.'})

    async def _replay(self, last: int) -> None:
        cursor = last
        while True:
            batch = await database_sync_to_async(events_after)(self.ward_ids, cursor)
            for payload in batch:
                await self._send_event(payload)
                cursor = payload["event_id"]
            if len(batch) < 500:
                break
        await self.send_json({"type": "replayed", "last_event_id": max(cursor, self.last_sent)})

    async def _send_event(self, payload: dict[str, Any]) -> None:
        event_id = payload["event_id"]
        if event_id in self.sent:
            return
        self.sent.add(event_id)
        self.sent_order.append(event_id)
        if len(self.sent_order) > SENT_MEMORY:
            self.sent.discard(self.sent_order.popleft())
        self.last_sent = max(self.last_sent, event_id)
        await self.send_json(payload)

    async def alert_event(self, message: dict[str, Any]) -> None:
        payload = message["payload"]
        if payload["alert"]["ward"] in self.ward_ids:
            await self._send_event(payload)
