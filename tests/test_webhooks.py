"""Outbound events: signed webhooks to real HTTP receivers, retries and the delivery log, refused
internal targets, ward isolation, and MQTT to the real broker on 127.0.0.1:1883.

Receivers are ``http.server`` threads on 127.0.0.1 (so their hooks set ``allow_internal``). Tasks run
in this process with Celery's eager mode, where a retry runs at once (its countdown is skipped); one
test runs a real worker, where the countdown is real. DNS is replaced only where a test needs a name
to resolve somewhere it cannot (a public address, or a rebinding to loopback).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from analytics import outbound
from analytics.models import AlertEvent, Webhook, WebhookDelivery
from analytics.outbound import attempt_delivery, dispatch, validate_webhook_url, verify
from analytics.services import escalate, raise_alert
from tests.base.factories import camera_in
from tests.test_worker import ROOT, worker_env
from workers.tasks import deliver_webhook, publish_mqtt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

SECRET = "a-shared-secret-of-the-receiver-0123"


# --- A real receiver ----------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: Any  # email.message.Message: names are case-insensitive, as in HTTP
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 answering the scripted status codes in turn, then ``then``."""

    codes: list[int]
    then: int = 200
    location: str = ""
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/matthan"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(Received(self.path, self.headers, body))
                code = receiver.codes.pop(0) if receiver.codes else receiver.then
                self.send_response(code)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(*codes: int, then: int = 200, location: str = "") -> Receiver:
        started.append(Receiver(list(codes), then=then, location=location).start())
        return started[-1]

    yield start
    for r in started:
        r.stop()


@pytest.fixture
def eager() -> Iterator[None]:
    """``.delay()`` runs the task here, now; a retry runs again at once (countdown skipped)."""
    from portal.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hook_for(ward: Any, url: str, **kwargs: Any) -> Webhook:
    defaults: dict[str, Any] = {"name": f"Hook {uuid.uuid4().hex[:6]}", "secret": SECRET, "allow_internal": True}
    return Webhook.objects.create(ward=ward, url=url, **(defaults | kwargs))


def fake_dns(monkeypatch: pytest.MonkeyPatch, names: dict[str, str]) -> None:
    """Resolve ``names`` to the given addresses (DNS is the edge these tests cannot reach)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in names:
            family = socket.AF_INET6 if ":" in names[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (names[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# --- Signature, body, headers -------------------------------------------------------------------


def test_raised_alert_reaches_the_receiver_signed(
    ward_a: Any, receiver: Callable[..., Receiver], eager: None, django_capture_on_commit_callbacks: Any
) -> None:
    rx = receiver()
    hook = hook_for(ward_a.ward, rx.url)
    with django_capture_on_commit_callbacks(execute=True):
        alert, event = raise_alert(camera=camera_in(ward_a.ward, code="CONG-1"), type="zone_intrusion", note="Trèo rào")

    assert len(rx.requests) == 1
    got = rx.requests[0]
    delivery = WebhookDelivery.objects.get(webhook=hook)
    # The documented algorithm, recomputed here, and the helper for receivers, agree.
    expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-MatThan-Signature"] == expected
    assert verify(SECRET, got.body, got.headers["X-MatThan-Signature"])
    assert not verify("another-secret-entirely-000", got.body, got.headers["X-MatThan-Signature"])
    assert not verify(SECRET, got.body.replace(b"zone_intrusion", b"manual"), got.headers["X-MatThan-Signature"])
    assert not verify(SECRET, got.body, None)
    assert got.path == "/hooks/matthan"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-MatThan-Event"] == "raised"
    assert got.headers["X-MatThan-Delivery"] == str(delivery.pk)
    body = json.loads(got.body)
    assert body["ward"] == "ward-a" and body["event_id"] == event.pk and body["event"] == "raised"
    assert body["alert"]["id"] == alert.pk and body["alert"]["type"] == "zone_intrusion"
    assert body["alert"]["camera"]["code"] == "CONG-1" and body["alert"]["note"] == "Trèo rào"
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.event_id) == ("delivered", 1, 200, event.pk)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None


def test_hook_filters_by_event_kind_and_severity(ward_a: Any) -> None:
    everything = hook_for(ward_a.ward, "http://127.0.0.1:9/all")
    serious = hook_for(ward_a.ward, "http://127.0.0.1:9/serious", min_severity=3)
    escalations = hook_for(ward_a.ward, "http://127.0.0.1:9/esc", event_kinds=["escalated"])
    hook_for(ward_a.ward, "http://127.0.0.1:9/off", active=False)
    camera = camera_in(ward_a.ward)
    alert, raised = raise_alert(camera=camera, type="encroachment")  # low severity
    assert set(WebhookDelivery.objects.filter(pk__in=dispatch(raised.pk)).values_list("webhook", flat=True)) == {everything.pk}
    _, intrusion = raise_alert(camera=camera, type="zone_intrusion")  # high
    assert set(WebhookDelivery.objects.filter(pk__in=dispatch(intrusion.pk)).values_list("webhook", flat=True)) == {
        everything.pk,
        serious.pk,
    }
    escalate(alert=alert, actor=ward_a.users["operator"])
    escalated = AlertEvent.objects.get(alert=alert, kind="escalated")
    assert set(WebhookDelivery.objects.filter(pk__in=dispatch(escalated.pk)).values_list("webhook", flat=True)) == {
        everything.pk,
        escalations.pk,
    }
    # Dispatching the same event again creates nothing: an event goes once to each hook.
    assert dispatch(raised.pk) == [] and dispatch(intrusion.pk) == []
    assert WebhookDelivery.objects.count() == 5


# --- Retries and the delivery log -----------------------------------------------------------------


def test_failing_receiver_is_retried_with_backoff_and_the_log_shows_it(
    ward_a: Any, api: Any, receiver: Callable[..., Receiver], eager: None, django_capture_on_commit_callbacks: Any
) -> None:
    rx = receiver(500, 500, then=200)
    hook = hook_for(ward_a.ward, rx.url)
    with django_capture_on_commit_callbacks(execute=True):
        _, event = raise_alert(camera=camera_in(ward_a.ward), type="manual", note="retry me")

    assert len(rx.requests) == 3
    # Each attempt is the same delivery: same id, same bytes, same signature.
    assert len({(r.headers["X-MatThan-Delivery"], r.body, r.headers["X-MatThan-Signature"]) for r in rx.requests}) == 1
    response = api(ward_a.users["admin"]).get(f"/api/webhook-deliveries/?webhook={hook.pk}")
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["event"] == event.pk and row["kind"] == "raised" and row["webhook_name"] == hook.name
    assert (row["status"], row["attempts"], row["last_status_code"], row["last_error"]) == ("delivered", 3, 200, "")
    assert row["delivered_at"] and row["next_attempt_at"] is None
    assert api(ward_a.users["admin"]).get("/api/webhook-deliveries/?status=failed").json()["results"] == []

    # A task delivered twice sends once.
    assert deliver_webhook.apply(args=[row["id"]]).get() == "skipped"
    assert len(rx.requests) == 3


def test_each_failed_attempt_is_recorded_with_the_next_try(ward_a: Any, receiver: Callable[..., Receiver]) -> None:
    rx = receiver(503, 500, then=204)
    hook = hook_for(ward_a.ward, rx.url)
    _, event = raise_alert(camera=camera_in(ward_a.ward), type="manual")
    [delivery_id] = dispatch(event.pk)
    for attempts, code, wait in [(1, 503, 2), (2, 500, 4)]:
        before = timezone.now()
        result = attempt_delivery(delivery_id)
        row = WebhookDelivery.objects.get(pk=delivery_id)
        assert (result.status, result.retry_in) == ("pending", wait)
        assert (row.status, row.attempts, row.last_status_code) == ("pending", attempts, code)
        assert str(code) in row.last_error
        assert row.next_attempt_at is not None
        assert before + dt.timedelta(seconds=wait - 1) <= row.next_attempt_at <= timezone.now() + dt.timedelta(seconds=wait)
    assert attempt_delivery(delivery_id).status == "delivered"
    assert attempt_delivery(delivery_id).status == "skipped"
    row = WebhookDelivery.objects.get(pk=delivery_id)
    assert (row.status, row.attempts, row.last_status_code, row.webhook_id) == ("delivered", 3, 204, hook.pk)


@pytest.mark.parametrize("kind", ["unreachable", "always 500"])
def test_receiver_that_never_answers_well_fails_after_the_maximum_attempts(
    kind: str, ward_a: Any, api: Any, receiver: Callable[..., Receiver], eager: None
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hook" if kind == "unreachable" else receiver(then=500).url
    hook = hook_for(ward_a.ward, url)
    _, event = raise_alert(camera=camera_in(ward_a.ward), type="manual")
    [delivery_id] = dispatch(event.pk)  # queued on commit, which a test transaction never reaches
    with override_settings(WEBHOOK_MAX_ATTEMPTS=4):
        assert deliver_webhook.apply(args=[delivery_id]).get() == "failed"
    row = api(ward_a.users["admin"]).get(f"/api/webhook-deliveries/{delivery_id}/").json()
    assert (row["status"], row["attempts"], row["webhook"]) == ("failed", 4, hook.pk)
    if kind == "unreachable":
        assert row["last_status_code"] is None and "reach" in row["last_error"]
    else:
        assert row["last_status_code"] == 500 and "500" in row["last_error"]
    assert row["next_attempt_at"] is None and row["delivered_at"] is None
    assert api(ward_a.users["admin"]).get("/api/webhook-deliveries/?status=failed").json()["count"] == 1


def test_redirects_are_not_followed(ward_a: Any, receiver: Callable[..., Receiver]) -> None:
    metadata = receiver()
    rx = receiver(then=302, location=metadata.url)
    hook_for(ward_a.ward, rx.url)
    _, event = raise_alert(camera=camera_in(ward_a.ward), type="manual")
    [delivery_id] = dispatch(event.pk)
    assert attempt_delivery(delivery_id).status == "pending"
    row = WebhookDelivery.objects.get(pk=delivery_id)
    assert row.last_status_code == 302 and "redirect" in row.last_error
    assert len(rx.requests) == 1 and metadata.requests == []


def test_deactivated_hook_sends_nothing_more(ward_a: Any, receiver: Callable[..., Receiver]) -> None:
    rx = receiver()
    hook = hook_for(ward_a.ward, rx.url)
    _, event = raise_alert(camera=camera_in(ward_a.ward), type="manual")
    [delivery_id] = dispatch(event.pk)
    Webhook.objects.filter(pk=hook.pk).update(active=False)
    assert attempt_delivery(delivery_id).status == "failed"
    assert rx.requests == []


# --- Targets: internal addresses and schemes ----------------------------------------------------


INTERNAL = [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://10.0.0.5/hook", "private"),
    ("http://192.168.1.1/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::1]:8000/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://0.0.0.0:8000/hook", "unspecified"),
    ("http://localhost:9000/hook", "loopback"),
    ("https://hooks.rebound.test/hook", "loopback"),
]


@pytest.mark.parametrize(("url", "kind"), INTERNAL, ids=[u for u, _ in INTERNAL])
def test_internal_addresses_are_refused_unless_allowed(
    url: str, kind: str, ward_a: Any, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"hooks.rebound.test": "127.0.0.1"})
    client = api(ward_a.users["admin"])
    response = client.post("/api/webhooks/", {"name": "Nội bộ", "url": url}, format="json")
    assert response.status_code == 400, response.json()
    [message] = response.json()["url"]
    assert kind in message and "allow_internal" in message and "public" in message
    if "rebound" in url:
        assert "resolves to 127.0.0.1" in message
    assert not Webhook.objects.exists()

    response = client.post("/api/webhooks/", {"name": "Nội bộ", "url": url, "allow_internal": True}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["allow_internal"] is True


def test_a_name_resolving_to_any_internal_address_is_refused(ward_a: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.exceptions import ValidationError

    real = socket.getaddrinfo

    def two_addresses(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "mixed.example.test":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    with pytest.raises(ValidationError, match="10.1.2.3"):
        validate_webhook_url("https://mixed.example.test/hook", allow_internal=False)
    assert validate_webhook_url("https://mixed.example.test/hook", allow_internal=True).addresses == ("93.184.216.34", "10.1.2.3")
    assert validate_webhook_url("https://93.184.216.34:8443/h?x=1#frag").url == "https://93.184.216.34:8443/h?x=1"


@pytest.mark.parametrize(
    ("url", "field_says"),
    [
        ("file:///etc/passwd", "scheme"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "scheme"),
        ("ftp://93.184.216.34/x", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("https:///no-host", "host"),
        ("https://user:pw@93.184.216.34/hook", "password"),
        ("https://93.184.216.34/a b", "spaces"),
        ("https://no-such-host.invalid/hook", "resolved"),
        ("93.184.216.34/hook", "https://"),
    ],
)
def test_bad_urls_are_refused_with_what_to_fix(url: str, field_says: str, ward_a: Any, api: Any) -> None:
    payload = {"name": "Bad", "url": url, "allow_internal": True}
    response = api(ward_a.users["admin"]).post("/api/webhooks/", payload, format="json")
    assert response.status_code == 400
    assert field_says in " ".join(response.json()["url"]), response.json()


def test_url_is_checked_again_at_delivery_time(
    ward_a: Any, api: Any, receiver: Callable[..., Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name that was public when saved resolves to loopback when sending."""
    rx = receiver()
    port = rx.url.split(":")[2].split("/")[0]
    fake_dns(monkeypatch, {"hooks.partner.test": "93.184.216.34"})
    response = api(ward_a.users["admin"]).post(
        "/api/webhooks/", {"name": "Partner", "url": f"http://hooks.partner.test:{port}/hooks/matthan"}, format="json"
    )
    assert response.status_code == 201, response.json()
    _, event = raise_alert(camera=camera_in(ward_a.ward), type="manual")
    [delivery_id] = dispatch(event.pk)
    fake_dns(monkeypatch, {"hooks.partner.test": "127.0.0.1"})
    assert attempt_delivery(delivery_id).status == "pending"
    row = WebhookDelivery.objects.get(pk=delivery_id)
    assert "loopback" in row.last_error and row.last_status_code is None
    assert rx.requests == []


def test_request_goes_to_the_address_that_was_checked(
    ward_a: Any, receiver: Callable[..., Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection uses the checked address, so a second lookup cannot send it elsewhere."""
    rx = receiver()
    port = int(rx.url.split(":")[2].split("/")[0])
    url = f"http://elsewhere.test:{port}/hooks/matthan"  # a name that resolves nowhere
    target = outbound.Target(url=url, host="elsewhere.test", port=port, addresses=("127.0.0.1",))
    monkeypatch.setattr(outbound, "validate_webhook_url", lambda url, allow_internal=False: target)
    hook = hook_for(ward_a.ward, url)
    delivery = WebhookDelivery.objects.create(ward=ward_a.ward, webhook=hook, kind="ping", payload={"type": "ping"})
    assert outbound.post(hook, delivery) == (200, "")
    [got] = rx.requests
    assert got.headers["Host"] == f"elsewhere.test:{port}"


# --- API: secret, ping, isolation ---------------------------------------------------------------


def test_secret_is_shown_once_and_stored_encrypted(ward_a: Any, api: Any) -> None:
    client = api(ward_a.users["admin"])
    created = client.post("/api/webhooks/", {"name": "Chỉ huy", "url": "https://93.184.216.34/in"}, format="json")
    assert created.status_code == 201, created.json()
    secret = created.json()["secret"]
    assert len(secret) >= 32
    hook_id = created.json()["id"]
    for url in ["/api/webhooks/", f"/api/webhooks/{hook_id}/", "/api/webhook-deliveries/"]:
        response = client.get(url)
        assert response.status_code == 200
        assert secret not in response.content.decode()
    assert "secret" not in client.get(f"/api/webhooks/{hook_id}/").json()
    assert "secret" not in client.get("/api/webhooks/").json()["results"][0]
    assert Webhook.objects.get(pk=hook_id).secret == secret
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM analytics_webhook WHERE id = %s", [hook_id])
        stored = cursor.fetchone()[0]
    assert secret not in stored and stored.startswith("gAAAA")

    # A new secret may be given (not shown back); a short or blank one is refused with the rule.
    patched = client.patch(f"/api/webhooks/{hook_id}/", {"secret": "rotated-secret-0123456789"}, format="json")
    assert patched.status_code == 200 and "secret" not in patched.json()
    assert Webhook.objects.get(pk=hook_id).secret == "rotated-secret-0123456789"
    for bad in ["short", ""]:
        response = client.patch(f"/api/webhooks/{hook_id}/", {"secret": bad}, format="json")
        assert response.status_code == 400 and "secret" in response.json()
    given = client.post(
        "/api/webhooks/", {"name": "Own secret", "url": "https://93.184.216.34/in", "secret": SECRET}, format="json"
    )
    assert given.status_code == 201 and given.json()["secret"] == SECRET


def test_event_kinds_and_names_are_checked(ward_a: Any, api: Any) -> None:
    client = api(ward_a.users["admin"])
    payload = {"name": "Kinds", "url": "https://93.184.216.34/in", "event_kinds": ["raised", "exploded"]}
    response = client.post("/api/webhooks/", payload, format="json")
    assert response.status_code == 400 and "event_kinds" in response.json()
    payload["event_kinds"] = ["raised", "raised", "dismissed"]
    assert client.post("/api/webhooks/", payload, format="json").json()["event_kinds"] == ["raised", "dismissed"]
    again = client.post("/api/webhooks/", payload, format="json")
    assert again.status_code == 400 and "name" in str(again.json())


def test_ping_is_signed_and_logged(
    ward_a: Any, api: Any, receiver: Callable[..., Receiver], eager: None, django_capture_on_commit_callbacks: Any
) -> None:
    rx = receiver()
    hook = hook_for(ward_a.ward, rx.url, active=False)
    assert api(ward_a.users["operator"]).post(f"/api/webhooks/{hook.pk}/test/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = api(ward_a.users["admin"]).post(f"/api/webhooks/{hook.pk}/test/")
    assert response.status_code == 202, response.json()
    assert response.json()["kind"] == "ping" and response.json()["event"] is None
    [got] = rx.requests
    assert got.headers["X-MatThan-Event"] == "ping"
    assert verify(SECRET, got.body, got.headers["X-MatThan-Signature"])
    assert json.loads(got.body)["webhook"] == {"id": hook.pk, "name": hook.name}
    assert WebhookDelivery.objects.get(pk=response.json()["id"]).status == "delivered"


def test_ward_b_events_never_reach_ward_a_hooks(
    ward_a: Any,
    ward_b: Any,
    api: Any,
    receiver: Callable[..., Receiver],
    eager: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    rx_a, rx_b = receiver(), receiver()
    hook_a, hook_b = hook_for(ward_a.ward, rx_a.url), hook_for(ward_b.ward, rx_b.url)
    with django_capture_on_commit_callbacks(execute=True):
        _, event = raise_alert(camera=camera_in(ward_b.ward, code="B-1"), type="crowding")
    assert rx_a.requests == [] and not WebhookDelivery.objects.filter(webhook=hook_a).exists()
    [got] = rx_b.requests
    assert json.loads(got.body)["ward"] == "ward-b"
    assert WebhookDelivery.objects.get(webhook=hook_b).event_id == event.pk
    # Ward A's admin sees neither ward B's hook nor its deliveries, even by id or filter.
    client = api(ward_a.users["admin"])
    assert client.get("/api/webhook-deliveries/").json()["results"] == []
    assert client.get(f"/api/webhook-deliveries/?webhook={hook_b.pk}").json()["results"] == []
    assert client.get(f"/api/webhooks/{hook_b.pk}/").status_code == 404
    assert client.post(f"/api/webhooks/{hook_b.pk}/test/").status_code == 404


# --- MQTT ---------------------------------------------------------------------------------------


def mqtt_broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not mqtt_broker_up(), reason="no MQTT broker on 127.0.0.1:1883 (start mosquitto to run this)")
def test_alert_is_published_to_its_ward_topic(
    ward_a: Any, ward_b: Any, eager: None, django_capture_on_commit_callbacks: Any
) -> None:
    import paho.mqtt.client as mqtt

    marker = uuid.uuid4().hex  # other runs may share the broker and the ward slugs
    received: dict[str, list[tuple[str, dict[str, Any]]]] = {"ward-a": [], "ward-b": []}
    subscribed = threading.Event()
    arrived = threading.Event()

    def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        client.subscribe([("matthan/ward-a/alerts/#", 1), ("matthan/ward-b/alerts/#", 1)])

    def on_subscribe(*args: Any) -> None:
        subscribed.set()

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        payload = json.loads(message.payload)
        if payload.get("alert", {}).get("note") == marker:
            received[message.topic.split("/")[1]].append((message.topic, payload))
            arrived.set()

    listener = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    listener.on_connect, listener.on_subscribe, listener.on_message = on_connect, on_subscribe, on_message
    listener.connect("127.0.0.1", 1883)
    listener.loop_start()
    try:
        assert subscribed.wait(10), "the test subscriber never subscribed"
        with override_settings(MQTT_URL="mqtt://127.0.0.1:1883"), django_capture_on_commit_callbacks(execute=True):
            _, event = raise_alert(camera=camera_in(ward_a.ward), type="person_fallen", note=marker)
        assert arrived.wait(10), "no MQTT message arrived"
        time.sleep(0.3)  # a stray second copy, or one on ward B's topic, would land by now
    finally:
        listener.loop_stop()
        listener.disconnect()
    [(topic, payload)] = received["ward-a"]
    assert topic == "matthan/ward-a/alerts/person_fallen"
    assert payload["event_id"] == event.pk and payload["ward"] == "ward-a" and payload["event"] == "raised"
    assert received["ward-b"] == []


def test_mqtt_off_publishes_nothing_and_a_dead_broker_is_retried(ward_a: Any) -> None:
    _, event = raise_alert(camera=camera_in(ward_a.ward), type="manual")
    with override_settings(MQTT_URL=""):
        assert publish_mqtt(event.pk) == "off"
    with override_settings(MQTT_URL=f"mqtt://127.0.0.1:{closed_port()}"), pytest.raises(ConnectionError):
        publish_mqtt(event.pk)  # ConnectionError: the task's base class retries it with backoff


# --- A real worker ------------------------------------------------------------------------------


@pytest.mark.worker
def test_real_worker_retries_after_the_countdown_and_delivers(transactional_db: Any, ward_a: Any, tmp_path: Any) -> None:
    rx = Receiver([500], then=200).start()
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "-Q", "default", "--loglevel=INFO"],
            cwd=ROOT,
            env=worker_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        hook = hook_for(ward_a.ward, rx.url)
        raise_alert(camera=camera_in(ward_a.ward), type="manual")  # commits: dispatch queues the delivery
        deadline = time.monotonic() + 60
        delivery = None
        while time.monotonic() < deadline:
            delivery = WebhookDelivery.objects.filter(webhook=hook).first()
            if delivery is not None and delivery.status != "pending":
                break
            if worker.poll() is not None:
                pytest.fail("worker exited:\n" + log.read_text())
            time.sleep(0.3)
        assert delivery is not None, log.read_text()[-3000:]
        assert (delivery.status, delivery.attempts) == ("delivered", 2), (delivery.last_error, log.read_text()[-3000:])
        first, second = rx.requests
        assert first.headers["X-MatThan-Delivery"] == second.headers["X-MatThan-Delivery"] == str(delivery.pk)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        rx.stop()
