"""Alert events for other systems: signed webhooks with retries and a delivery log, and MQTT.

After an alert event commits, ``dispatch`` writes one ``WebhookDelivery`` per matching active hook of
the event's ward and queues a ``deliver_webhook`` task for each, then queues ``publish_mqtt`` when
``MQTT_URL`` is set. Neither the request nor the pipeline ever waits on a receiver or a broker.

A webhook request is ``POST <url>`` with a JSON body (``analytics.live.event_payload`` plus the ward's
slug) and the headers ``X-MatThan-Event`` (event kind, or ``ping``), ``X-MatThan-Delivery`` (delivery
id) and ``X-MatThan-Signature`` (``sha256=`` + HMAC-SHA256 of the raw body with the hook's secret).
Delivery is at least once: receivers check the signature with ``verify`` and drop repeats by the
delivery id.

Targets are checked twice against server-side request forgery: when a hook is saved, and again
before each attempt (DNS may have changed). The request then goes to the very address that was
checked, never through a proxy, and redirects are not followed.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import unicodedata
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.live import event_payload
from analytics.models import AlertEvent, Webhook, WebhookDelivery
from portal.services import audit, client_ip

logger = logging.getLogger(__name__)

ALLOWED_SCHEMES = ("https", "http")
MAX_URL_LENGTH = 500
TIMEOUT_SECONDS = 5
MAX_BACKOFF_SECONDS = 15 * 60
MIN_SECRET_LENGTH = 16
USER_AGENT = "MatThan-Webhook/1"


# --- Targets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A checked webhook URL and the addresses its host resolved to (the request goes to the first)."""

    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


# Checked in this order: link-local before private (169.254.169.254 is both), "not public" last.
_INTERNAL_KINDS: tuple[tuple[str, Any], ...] = (
    ("is_unspecified", gettext_lazy("an unspecified address")),
    ("is_loopback", gettext_lazy("a loopback address")),
    ("is_link_local", gettext_lazy("a link-local address")),
    ("is_multicast", gettext_lazy("a multicast address")),
    ("is_private", gettext_lazy("a private address")),
    ("is_reserved", gettext_lazy("a reserved address")),
)


def internal_kind(address: str) -> str | None:
    """What kind of non-public address ``address`` is ("a loopback address"...), or None for a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for attribute, label in _INTERNAL_KINDS:
        if getattr(ip, attribute):
            return str(label)
    if not ip.is_global:  # shared (100.64/10) and other special-purpose blocks
        return _("a non-public address")
    return None


def _how() -> str:
    return _("give the receiver's address, e.g. https://example.org/matthan/events")


def _unsafe(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch).startswith("C")


def validate_webhook_url(url: str, allow_internal: bool = False) -> Target:
    """Check a webhook URL; return it cleaned with the addresses its host resolves to.

    Only ``https://`` and ``http://`` with a host. The host is resolved, and a loopback, private,
    link-local, multicast, reserved or unspecified address (or a name resolving to one) is refused
    unless ``allow_internal``. Each message names what to fix.
    """
    url = (url or "").strip()
    if not url:
        raise ValidationError(_("The webhook URL is empty: %(how)s.") % {"how": _how()})
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(_("The webhook URL is longer than %(n)d characters.") % {"n": MAX_URL_LENGTH})
    if any(_unsafe(ch) for ch in url):
        raise ValidationError(_("The webhook URL must not contain spaces or control characters: %(how)s.") % {"how": _how()})
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(_("The webhook URL is malformed (%(error)s): %(how)s.") % {"error": exc, "how": _how()}) from exc
    scheme = parts.scheme.lower()
    if not scheme:
        raise ValidationError(_("The webhook URL has no scheme: start it with https:// (or http://)."))
    if scheme not in ALLOWED_SCHEMES:
        raise ValidationError(
            _("Webhook URL scheme “%(scheme)s” is not allowed: use https:// (or http://).") % {"scheme": parts.scheme[:20]}
        )
    host = parts.hostname
    if not host:
        raise ValidationError(_("The webhook URL has no host: %(how)s.") % {"how": _how()})
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            _("Put no user name or password in the webhook URL: receivers check the X-MatThan-Signature header instead.")
        )
    port = port or (443 if scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ValidationError(
            _("The host %(host)s of the webhook URL cannot be resolved (%(error)s): check the name.")
            % {"host": host, "error": exc}
        ) from exc
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ValidationError(_("The host %(host)s of the webhook URL has no address: check the name.") % {"host": host})
    if not allow_internal:
        for address in addresses:
            kind = internal_kind(address)
            if kind is None:
                continue
            if address.split("%", 1)[0] == host:
                where = host
            else:
                where = _("%(host)s (it resolves to %(address)s)") % {"host": host, "address": address}
            raise ValidationError(
                _(
                    "The webhook URL points to %(where)s, %(kind)s: webhooks go to public addresses only. "
                    "Give the receiver's public address, or set %(field)s if this receiver is inside your network on purpose."
                )
                % {"where": where, "kind": kind, "field": "allow_internal"}
            )
    netloc = host if ":" not in host else f"[{host}]"
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    clean = urlunsplit(SplitResult(scheme, netloc, parts.path or "/", parts.query, ""))
    return Target(url=clean, host=host, port=port, addresses=addresses)


# --- Signing ------------------------------------------------------------------------------------


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sign(secret: str, body: bytes) -> str:
    """The X-MatThan-Signature header value: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """For receivers: whether ``signature`` (the X-MatThan-Signature header) signs ``body`` (raw bytes as received).

    Compare in constant time, over the bytes received (not re-encoded JSON). Any language does the
    same: HMAC-SHA256 of the body with the secret, hex, prefixed with ``sha256=``.
    """
    return bool(signature) and hmac.compare_digest(sign(secret, body), str(signature))


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def event_body(event: AlertEvent) -> dict[str, Any]:
    """What other systems receive for one event: the browser's message plus the ward's slug."""
    return {**event_payload(event), "ward": event.ward.slug}


def _load_event(event_id: int) -> AlertEvent | None:
    return AlertEvent.objects.select_related("ward", "alert__camera", "alert__assigned_to", "actor").filter(pk=event_id).first()


# --- Dispatch -----------------------------------------------------------------------------------


def dispatch(event_id: int) -> list[int]:
    """After commit: log a delivery for each matching active hook of the event's ward, queue the sends.

    Idempotent: a hook already holding a delivery of this event gets no second one. Returns the ids
    of the deliveries created.
    """
    from workers.tasks import publish_mqtt

    event = _load_event(event_id)
    if event is None:
        return []
    hooks = [
        hook
        for hook in Webhook.objects.filter(ward_id=event.ward_id, active=True).order_by("id")
        if hook.wants(event.kind, event.alert.severity)
    ]
    created_ids: list[int] = []
    if hooks:
        payload = event_body(event)
        for hook in hooks:
            delivery, created = WebhookDelivery.objects.get_or_create(
                ward_id=event.ward_id, webhook=hook, event=event, defaults={"kind": event.kind, "payload": payload}
            )
            if created:
                created_ids.append(delivery.pk)
                queue_delivery(delivery.pk)
    if settings.MQTT_URL:
        transaction.on_commit(lambda: publish_mqtt.delay(event_id), robust=True)
    return created_ids


def queue_delivery(delivery_id: int) -> None:
    from workers.tasks import deliver_webhook

    # robust: a broker outage leaves this row pending (and logged) without stopping the other hooks.
    transaction.on_commit(lambda: deliver_webhook.delay(delivery_id), robust=True)


@transaction.atomic
def send_ping(*, webhook: Webhook, actor: Any, request: Any = None) -> WebhookDelivery:
    """Queue a ``ping`` delivery to ``webhook`` (sent even when the hook is inactive) and audit it."""
    payload = {
        "type": "ping",
        "ward": webhook.ward.slug,
        "webhook": {"id": webhook.pk, "name": webhook.name},
        "at": timezone.now().isoformat(),
    }
    delivery = WebhookDelivery.objects.create(
        ward_id=webhook.ward_id, webhook=webhook, kind=WebhookDelivery.PING, payload=payload
    )
    audit(action="webhook_tested", actor=actor, ward=webhook.ward_id, obj=webhook, ip=client_ip(request))
    queue_delivery(delivery.pk)
    return delivery


# --- Delivery -----------------------------------------------------------------------------------


class _PinnedMixin:
    """Connect to the address that was checked, whatever the host resolves to now (DNS rebinding)."""

    def __init__(self, *args: Any, pinned_address: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pinned_address = pinned_address
        self._create_connection = self._connect_pinned

    def _connect_pinned(self, address: tuple[str, int], timeout: Any = None, source_address: Any = None) -> socket.socket:
        return socket.create_connection((self._pinned_address, address[1]), timeout, source_address)


class _PinnedHTTPConnection(_PinnedMixin, http.client.HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedMixin, http.client.HTTPSConnection):
    """TLS still checks the certificate against the URL's host name (SNI and hostname check)."""


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def http_open(self, req: Any) -> Any:
        connection: Any = functools.partial(_PinnedHTTPConnection, pinned_address=self.address)
        return self.do_open(connection, req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def https_open(self, req: Any) -> Any:
        connection: Any = functools.partial(_PinnedHTTPSConnection, pinned_address=self.address)
        return self.do_open(connection, req, context=self._context)  # type: ignore[attr-defined]


def _opener(address: str) -> urllib.request.OpenerDirector:
    """HTTP(S) only, to ``address``, no proxy, no redirects (a 3xx is an HTTPError), no file: or ftp:."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        _PinnedHTTPHandler(address),
        _PinnedHTTPSHandler(address),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def post(webhook: Webhook, delivery: WebhookDelivery) -> tuple[int | None, str]:
    """One POST of ``delivery`` to ``webhook``; returns (HTTP status or None, error or "" when delivered)."""
    try:
        target = validate_webhook_url(webhook.url, webhook.allow_internal)
    except ValidationError as exc:
        return None, " ".join(exc.messages)
    body = body_bytes(delivery.payload)
    request = urllib.request.Request(  # noqa: S310 (the scheme was checked: http or https only)
        target.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-MatThan-Event": delivery.kind,
            "X-MatThan-Delivery": str(delivery.pk),
            "X-MatThan-Signature": sign(webhook.secret, body),
        },
    )
    try:
        with _opener(target.addresses[0]).open(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(64 * 1024)
            code = int(response.status)
    except urllib.error.HTTPError as exc:
        code = exc.code
        location = exc.headers.get("Location", "") if exc.headers else ""
        exc.close()
        if 300 <= code < 400:
            return code, _("The receiver redirected to %(location)s; redirects are not followed: give the final URL.") % {
                "location": location[:150] or "?"
            }
        return code, _("The receiver answered HTTP %(code)d.") % {"code": code}
    except (OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return None, _("Could not reach the receiver: %(error)s.") % {"error": str(reason)[:200] or type(exc).__name__}
    if 200 <= code < 300:
        return code, ""
    return code, _("The receiver answered HTTP %(code)d.") % {"code": code}


@dataclass(frozen=True)
class Attempt:
    status: str
    retry_in: int | None = None


def backoff_seconds(attempts: int) -> int:
    return int(min(2**attempts, MAX_BACKOFF_SECONDS))


def attempt_delivery(delivery_id: int) -> Attempt:
    """Send a pending delivery once and record the outcome in its row.

    Delivered or failed rows are left alone (a task delivered twice sends once). A failure is counted;
    below ``WEBHOOK_MAX_ATTEMPTS`` the result says when to try again (2, 4, 8... seconds), at the
    limit the delivery is marked failed.
    """
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None:
        return Attempt("missing")
    if delivery.status != WebhookDelivery.Status.PENDING:
        return Attempt("skipped")
    webhook = delivery.webhook
    pending = WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
    if not webhook.active and delivery.kind != WebhookDelivery.PING:
        pending.update(
            status=WebhookDelivery.Status.FAILED,
            last_error=_("The webhook was deactivated before this event was sent."),
            next_attempt_at=None,
        )
        return Attempt(WebhookDelivery.Status.FAILED)
    code, error = post(webhook, delivery)
    now = timezone.now()
    attempts = delivery.attempts + 1
    if not error:
        pending.update(
            status=WebhookDelivery.Status.DELIVERED,
            attempts=attempts,
            last_status_code=code,
            last_error="",
            next_attempt_at=None,
            delivered_at=now,
        )
        return Attempt(WebhookDelivery.Status.DELIVERED)
    logger.info("webhook %s delivery %s attempt %s failed: %s", webhook.pk, delivery_id, attempts, error)
    if attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        pending.update(
            status=WebhookDelivery.Status.FAILED,
            attempts=attempts,
            last_status_code=code,
            last_error=error[:300],
            next_attempt_at=None,
        )
        return Attempt(WebhookDelivery.Status.FAILED)
    delay = backoff_seconds(attempts)
    pending.update(
        attempts=attempts,
        last_status_code=code,
        last_error=error[:300],
        next_attempt_at=now + dt.timedelta(seconds=delay),
    )
    return Attempt(WebhookDelivery.Status.PENDING, retry_in=delay)


# --- MQTT ---------------------------------------------------------------------------------------


def mqtt_topic(ward_slug: str, alert_type: str) -> str:
    return f"matthan/{ward_slug}/alerts/{alert_type}"


def mqtt_publish(url: str, topic: str, body: bytes, timeout: float = TIMEOUT_SECONDS) -> None:
    """Publish one message with QoS 1 and wait for the broker's acknowledgement.

    An unreachable or silent broker raises ``ConnectionError`` / ``TimeoutError`` (the task retries).
    """
    import paho.mqtt.client as mqtt

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("mqtt", "mqtts") or not parts.hostname:
        # The URL itself may hold a password: name only its scheme.
        raise ImproperlyConfigured(f"MQTT_URL must look like mqtt://host:1883 or mqtts://host:8883 (scheme given: {scheme!r})")
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.connect_timeout = timeout
    if parts.username:
        client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
    if scheme == "mqtts":
        client.tls_set()
    try:
        client.connect(parts.hostname, parts.port or (8883 if scheme == "mqtts" else 1883), keepalive=30)
    except OSError as exc:
        raise ConnectionError(f"MQTT broker {parts.hostname}:{parts.port} unreachable: {exc}") from exc
    client.loop_start()
    try:
        info = client.publish(topic, body, qos=1)
        try:
            info.wait_for_publish(timeout=timeout)
        except (RuntimeError, ValueError) as exc:
            raise ConnectionError(f"MQTT broker refused the message: {exc}") from exc
        if not info.is_published():
            raise TimeoutError(f"MQTT broker did not acknowledge the message within {timeout} s")
    finally:
        client.disconnect()
        client.loop_stop()


def publish_event_mqtt(event_id: int) -> str:
    """Publish one event to ``matthan/<ward slug>/alerts/<alert type>`` (QoS 1; at least once)."""
    if not settings.MQTT_URL:
        return "off"
    event = _load_event(event_id)
    if event is None:
        return "missing"
    mqtt_publish(settings.MQTT_URL, mqtt_topic(event.ward.slug, event.alert.type), body_bytes(event_body(event)))
    return "published"
