"""The alert socket with Channels' WebsocketCommunicator: auth, ward isolation, live delivery, replay."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from analytics.services import acknowledge, raise_alert
from portal.asgi import application
from tests.base.factories import camera_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def connect(user: Any = None, token: str | None = None, query: str = "") -> WebsocketCommunicator:
    path = "/ws/alerts/" + (f"?token={token}" if token else (f"?{query}" if query else ""))
    communicator = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
    if user is not None:
        communicator.scope["user"] = user
    return communicator


async def receive_until(communicator: WebsocketCommunicator, kind: str, timeout: float = 5) -> dict[str, Any]:
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] == kind:
            return message


@database_sync_to_async
def raise_in(ward: Any, note: str = "", code: str | None = None) -> Any:
    camera = camera_in(ward, code=code or f"WS-{note or 'x'}")
    alert, event = raise_alert(camera=camera, type="manual", note=note)
    return alert, event


async def test_anonymous_socket_is_refused(ward_a: Any) -> None:
    communicator = await connect()
    connected, code = await communicator.connect()
    assert not connected and code == 4401


async def test_official_without_alert_role_is_refused(ward_a: Any) -> None:
    communicator = await connect(ward_a.users["official"])
    connected, code = await communicator.connect()
    assert not connected and code == 4403


async def test_token_auth_and_live_alert_of_own_ward_only(ward_a: Any, ward_b: Any) -> None:
    token = await database_sync_to_async(lambda: Token.objects.create(user=ward_a.users["operator"]).key)()
    mine = await connect(token=token)
    assert (await mine.connect())[0]
    hello = await mine.receive_json_from()
    assert hello == {"type": "hello", "wards": [ward_a.ward.pk]}
    theirs = await connect(ward_b.users["operator"])
    assert (await theirs.connect())[0]
    await theirs.receive_json_from()

    _alert, event = await raise_in(ward_a.ward, note="Cướp giật")
    message = await receive_until(mine, "alert")
    assert message["event_id"] == event.pk and message["alert"]["note"] == "Cướp giật"
    assert message["alert"]["camera"]["code"] == "WS-Cướp giật"
    assert await theirs.receive_nothing(timeout=1)
    await mine.disconnect()
    await theirs.disconnect()


async def test_reconnect_replays_missed_events_once_in_order(ward_a: Any) -> None:
    user = ward_a.users["operator"]
    first = await connect(user)
    await first.connect()
    await first.receive_json_from()
    _a, e1 = await raise_in(ward_a.ward, note="one")
    seen = await receive_until(first, "alert")
    assert seen["event_id"] == e1.pk
    await first.disconnect()

    a2, e2 = await raise_in(ward_a.ward, note="two")
    e3 = await database_sync_to_async(lambda: acknowledge(alert=a2, actor=user).events.order_by("-id").first())()

    second = await connect(user)
    await second.connect()
    await second.receive_json_from()
    await second.send_json_to({"type": "resume", "last_event_id": e1.pk})
    replayed = []
    while True:
        message = await second.receive_json_from(timeout=5)
        if message["type"] == "replayed":
            break
        if message["type"] == "alert":
            replayed.append((message["event_id"], message["event"]))
    assert replayed == [(e2.pk, "raised"), (e3.pk, "acknowledged")]
    # A live copy of an event already replayed is not sent again.
    assert await second.receive_nothing(timeout=1)
    await second.disconnect()


async def test_malformed_messages_get_errors_and_the_socket_lives_on(ward_a: Any) -> None:
    communicator = await connect(ward_a.users["operator"])
    await communicator.connect()
    await communicator.receive_json_from()
    for bad in ("not json", '{"type": "resume", "last_event_id": "x"}', '["resume"]', "x" * 10_000, '{"type": "shout"}'):
        await communicator.send_to(text_data=bad)
        assert (await communicator.receive_json_from())["type"] == "error"
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from()) == {"type": "pong"}
    await communicator.disconnect()


async def test_city_user_can_narrow_to_one_ward(ward_a: Any, ward_b: Any, city_user: Any) -> None:
    communicator = await connect(city_user, query=f"ward={ward_b.ward.slug}")
    await communicator.connect()
    assert (await communicator.receive_json_from())["wards"] == [ward_b.ward.pk]
    await raise_in(ward_a.ward, note="a-side")
    assert await communicator.receive_nothing(timeout=1)
    await communicator.disconnect()


async def test_live_event_before_resume_does_not_hide_older_missed_ones(ward_a: Any) -> None:
    user = ward_a.users["operator"]
    first = await connect(user)
    await first.connect()
    await first.receive_json_from()
    _a, e1 = await raise_in(ward_a.ward, note="r1")
    await receive_until(first, "alert")
    await first.disconnect()
    _a, e2 = await raise_in(ward_a.ward, note="r2")  # missed while away
    await asyncio.sleep(0.6)  # past the embedded relay's poll, so e2 is gone by when we reconnect

    second = await connect(user)
    await second.connect()
    await second.receive_json_from()
    _a, e3 = await raise_in(ward_a.ward, note="r3")  # arrives live before the client resumes
    assert (await receive_until(second, "alert"))["event_id"] == e3.pk
    await second.send_json_to({"type": "resume", "last_event_id": e1.pk})
    replayed = []
    while True:
        message = await second.receive_json_from(timeout=5)
        if message["type"] == "replayed":
            break
        replayed.append(message["event_id"])
    assert replayed == [e2.pk]
    await second.disconnect()


async def test_last_event_id_on_the_url_replays_at_connect(ward_a: Any) -> None:
    _a, e1 = await raise_in(ward_a.ward, note="u1")
    _a, e2 = await raise_in(ward_a.ward, note="u2")
    communicator = await connect(ward_a.users["operator"], query=f"last_event_id={e1.pk}")
    await communicator.connect()
    assert (await communicator.receive_json_from())["type"] == "hello"
    message = await communicator.receive_json_from()
    assert message["type"] == "alert" and message["event_id"] == e2.pk
    assert (await communicator.receive_json_from())["type"] == "replayed"
    await communicator.disconnect()
