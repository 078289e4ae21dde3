"""Alerts end to end with real processes: the ASGI server (uvicorn), a Celery worker, WebSocket clients over TCP.

Mode-agnostic: the processes get this process's database (SpatiaLite file or PostGIS test database)
and broker, so the same tests run embedded (relay polling the event log, filesystem broker) and with
``REDIS_URL`` (Redis channel layer and broker). The Redis outage test starts its own ``redis-server``
on a free port and never touches the machine's Redis. The ASGI server and the worker are started once for the
module (about 5 s); the Redis outage test has its own server.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from rest_framework.authtoken.models import Token
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from analytics.models import Alert, AlertEvent
from analytics.services import raise_alert
from cameras.models import Camera
from tests.base.factories import camera_in
from workers.tasks import check_camera_health

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.worker


# --- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_env(**extra: str) -> dict[str, str]:
    """Point a child process at this process's test database, var dir and broker."""
    env = dict(os.environ)
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        env["DATABASE_URL"] = f"postgis://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        env["SQLITE_PATH"] = str(db["NAME"])
    env["MATTHAN_VAR_DIR"] = str(settings.VAR_DIR)
    env["CELERY_TASK_ALWAYS_EAGER"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class Child:
    """A subprocess whose output goes to a file (read back when a test fails)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"{self.name} exited with {self.proc.returncode}:\n{self.output()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20, children: tuple[Child, ...] = ()) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        for child in children:
            child.check_alive()
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {c.name} ---\n{c.output()}" for c in children)
            pytest.fail(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.1)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def start_web(log_dir: Path, **env: str) -> tuple[Child, int]:
    port = free_port()
    web = Child(
        f"web-{port}",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "portal.asgi:application",
        ],
        process_env(**env),
        log_dir,
    )
    return web, port


def start_worker(log_dir: Path) -> Child:
    return Child(
        "worker",
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "-Q", "default", "--purge", "--loglevel=INFO"],
        process_env(),
        log_dir,
    )


class Redis:
    """A private redis-server without persistence, stoppable and restartable on the same port."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.child: Child | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.child = Child(f"redis-{self.port}", args, dict(os.environ), self.log_dir)
        wait_for("redis-server", lambda: port_open(self.port), 10, (self.child,))

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None


@pytest.fixture(scope="module")
def stack(django_db_setup: Any, tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    """The ASGI server (uvicorn) and a Celery worker on this module's test database, started once for its tests."""
    log_dir = tmp_path_factory.mktemp("e2e-logs")
    web, port = start_web(log_dir)
    worker = start_worker(log_dir)
    try:
        wait_for("web", lambda: port_open(port), 30, (web,))
        # Wait for "ready": --purge (of messages other tests left) must not eat this module's tasks.
        wait_for("the worker", lambda: " ready." in worker.output(), 30, (worker,))
        yield {"port": port, "web": web, "worker": worker}
    finally:
        web.stop()
        worker.stop()


# --- clients -----------------------------------------------------------------------------------


def socket_url(port: int, token: str | None) -> str:
    return f"ws://127.0.0.1:{port}/ws/alerts/" + (f"?token={token}" if token else "")


def open_socket(port: int, token: str | None) -> ClientConnection:
    return connect(socket_url(port, token), origin=f"http://127.0.0.1:{port}", proxy=None, open_timeout=5)  # type: ignore[arg-type]


class Officer:
    """A duty officer's browser: token login, last event id kept, heartbeats ignored."""

    def __init__(self, port: int, user: Any) -> None:
        self.port = port
        self.token = Token.objects.get_or_create(user=user)[0].key
        self.ws: ClientConnection | None = None
        self.last_event_id = 0

    def open(self) -> dict[str, Any]:
        self.ws = open_socket(self.port, self.token)
        hello = self.receive(5)
        assert hello is not None and hello["type"] == "hello", hello
        return hello

    def receive(self, timeout: float) -> dict[str, Any] | None:
        """The next message other than a heartbeat, or None when none comes in ``timeout`` seconds."""
        assert self.ws is not None
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = json.loads(self.ws.recv(timeout=max(0.0, deadline - time.monotonic())))
            except TimeoutError:
                return None
            if message["type"] == "alert":
                self.last_event_id = message["event_id"]
            if message["type"] != "heartbeat":
                return message

    def alert(self, timeout: float = 20) -> dict[str, Any]:
        message = self.receive(timeout)
        assert message is not None, f"no alert within {timeout} s"
        assert message["type"] == "alert", message
        return message

    def alerts_within(self, seconds: float) -> list[dict[str, Any]]:
        messages = []
        while (message := self.receive(seconds)) is not None:
            messages.append(message)
        return messages

    def resume(self, last: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        assert self.ws is not None
        self.ws.send(json.dumps({"type": "resume", "last_event_id": last}))
        replayed = []
        while True:
            message = self.receive(10)
            assert message is not None, "no 'replayed' after resume"
            if message["type"] == "replayed":
                return replayed, message
            replayed.append(message)

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None


def api_request(port: int, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def closed_port_camera(ward: Any, code: str) -> tuple[Camera, int]:
    port = free_port()  # bound and released: nothing listens there
    return camera_in(ward, code=code, status=Camera.Status.ONLINE, main_stream_url=f"rtsp://127.0.0.1:{port}/x"), port


def events_count(camera: Camera) -> int:
    return AlertEvent.objects.filter(alert__camera=camera).count()


# --- tests -------------------------------------------------------------------------------------


def test_worker_alert_reaches_its_ward_only_and_anonymous_is_refused(
    stack: dict[str, Any], transactional_db: Any, ward_a: Any, ward_b: Any
) -> None:
    port, children = stack["port"], (stack["web"], stack["worker"])
    for token in (None, "not-a-token"):
        with pytest.raises(InvalidStatus) as refused:
            open_socket(port, token)
        assert refused.value.response.status_code == 403

    mine, theirs = Officer(port, ward_a.users["operator"]), Officer(port, ward_b.users["operator"])
    assert mine.open()["wards"] == [ward_a.ward.pk]
    assert theirs.open()["wards"] == [ward_b.ward.pk]
    camera, _port = closed_port_camera(ward_a.ward, "E2E-OFF")

    check_camera_health.delay(camera.pk)
    wait_for("the worker's camera_offline alert", lambda: events_count(camera) == 1, 30, children)
    message = mine.alert()
    assert message["event"] == "raised"
    assert message["alert"]["type"] == "camera_offline" and message["alert"]["ward"] == ward_a.ward.pk
    assert message["alert"]["camera"]["code"] == "E2E-OFF"
    assert message["event_id"] == AlertEvent.objects.get(alert__camera=camera).pk
    camera.refresh_from_db()
    assert camera.status == Camera.Status.OFFLINE
    assert theirs.alerts_within(1.5) == []

    # The other way round, raised in this process (Redis: it publishes; embedded: the relay reads it).
    _alert, event = raise_alert(camera=camera_in(ward_b.ward, code="E2E-B"), type="manual", note="phía B")
    assert theirs.alert()["event_id"] == event.pk
    assert mine.alerts_within(1.5) == []
    mine.close()
    theirs.close()


def test_reconnect_replays_missed_alerts_once_each_in_order(stack: dict[str, Any], transactional_db: Any, ward_a: Any) -> None:
    port, children = stack["port"], (stack["web"], stack["worker"])
    officer = Officer(port, ward_a.users["operator"])
    officer.open()
    camera, stream_port = closed_port_camera(ward_a.ward, "E2E-RE")
    check_camera_health.delay(camera.pk)
    first = officer.alert(30)
    assert first["alert"]["type"] == "camera_offline"
    officer.close()

    # Missed while away: the camera comes back (worker), and an operator raises one (the server's API).
    with socket.create_server(("127.0.0.1", stream_port)):
        check_camera_health.delay(camera.pk)
        wait_for("the worker's camera_online alert", lambda: events_count(camera) == 2, 30, children)
    status, body = api_request(port, officer.token, "POST", "/api/alerts/", {"camera": "E2E-RE", "type": "manual", "note": "x"})
    assert status == 201, body
    missed = list(AlertEvent.objects.filter(alert__camera=camera, id__gt=first["event_id"]).order_by("id"))
    assert [e.alert.type for e in missed] == ["camera_online", "manual"]
    officer.open()
    replayed, done = officer.resume(first["event_id"])
    assert [(m["event_id"], m["alert"]["type"]) for m in replayed] == [(e.pk, e.alert.type) for e in missed]
    assert done["last_event_id"] == missed[-1].pk
    # Once each: no live copy follows, and resuming again from the same id sends nothing more.
    assert officer.alerts_within(1.0) == []
    again, done = officer.resume(first["event_id"])
    assert again == [] and done["last_event_id"] == missed[-1].pk
    officer.close()


def test_an_idle_socket_stays_open(stack: dict[str, Any], transactional_db: Any, ward_a: Any) -> None:
    officer = Officer(stack["port"], ward_a.users["operator"])
    officer.open()
    # Two 5 s BZPOPMIN rounds with Redis (the timeout race is nearly always lost, not always).
    quiet = 10.5 if settings.REDIS_URL else 2
    assert officer.alerts_within(quiet) == []  # ConnectionClosed here: the server dropped a quiet socket
    officer.ws.send(json.dumps({"type": "ping"}))  # type: ignore[union-attr]
    assert officer.receive(5) == {"type": "pong"}
    officer.close()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_redis_outage_keeps_alerts_and_sockets_catch_up(transactional_db: Any, ward_a: Any, tmp_path: Path) -> None:
    redis = Redis(tmp_path)
    redis.start()
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis.url]}}}
    web, port = start_web(tmp_path, REDIS_URL=redis.url)
    try:
        with override_settings(REDIS_URL=redis.url, CHANNEL_LAYERS=layers):
            wait_for("web", lambda: port_open(port), 30, (web,))
            officer = Officer(port, ward_a.users["operator"])
            camera = camera_in(ward_a.ward, code="E2E-RD")
            officer.open()
            _alert, before = raise_alert(camera=camera, type="manual", note="before")  # published by this process
            assert officer.alert()["event_id"] == before.pk

            redis.stop()
            # The server closes the socket (its channel-layer receive fails): the client's cue to reconnect.
            with pytest.raises(ConnectionClosed):
                officer.receive(10)
            officer.close()
            # While Redis is down a new socket is refused, never accepted and left deaf.
            with pytest.raises(InvalidHandshake):
                open_socket(port, officer.token)
            raised = []
            for note in ("during-1", "during-2"):
                status, body = api_request(port, officer.token, "POST", "/api/alerts/", {"camera": "E2E-RD", "note": note})
                assert status == 201, body
                raised.append(body["id"])
            status, listing = api_request(port, officer.token, "GET", "/api/alerts/")
            assert status == 200, listing
            assert set(raised) <= {a["id"] for a in listing["results"]}
            gap = list(AlertEvent.objects.filter(id__gt=before.pk).order_by("id").values_list("id", flat=True))
            assert len(gap) == 2

            redis.start()

            def reconnected() -> bool:
                try:
                    officer.open()
                except (OSError, InvalidHandshake, ConnectionClosed, AssertionError):
                    officer.close()
                    return False
                return True

            wait_for("a socket after Redis came back", reconnected, 20, (web,))  # as the browser retries
            replayed, done = officer.resume(before.pk)
            assert [m["event_id"] for m in replayed] == gap and done["last_event_id"] == gap[-1]
            status, body = api_request(port, officer.token, "POST", "/api/alerts/", {"camera": "E2E-RD", "note": "after"})
            assert status == 201, body
            live = officer.alert()
            assert live["alert"]["id"] == body["id"] and live["alert"]["note"] == "after"
            _alert, local = raise_alert(camera=camera, type="manual", note="after-local")
            assert officer.alert()["event_id"] == local.pk
            officer.close()
    finally:
        web.stop()
        redis.stop()
    assert Alert.objects.filter(camera__code="E2E-RD").count() == 5
