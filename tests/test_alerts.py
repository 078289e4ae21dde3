"""Alerts as a durable log: raising, grouping floods, the handling workflow, bad input, health probes."""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from analytics.models import Alert, AlertEvent
from analytics.services import raise_alert
from cameras.models import Camera
from portal.models import AuditEntry
from tests.base.factories import camera_in

pytestmark = pytest.mark.django_db


def post(client: Any, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(url, data or {}, format="json")


def test_operator_raises_a_manual_alert_by_camera_code(api: Any, ward_a: Any) -> None:
    camera = camera_in(ward_a.ward, code="CHO-01")
    response = post(api(ward_a.users["operator"]), "/api/alerts/", {"camera": "CHO-01", "type": "manual", "note": "Giật túi"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["camera"] == camera.pk and body["status"] == "new" and body["severity"] == 2
    alert = Alert.objects.get(pk=body["id"])
    assert alert.raised_by == ward_a.users["operator"]
    assert list(alert.events.values_list("kind", flat=True)) == ["raised"]
    assert AuditEntry.objects.filter(action="alert_raised", object_id=str(alert.pk)).exists()


def test_bad_alert_input_gets_clear_errors(api: Any, ward_a: Any, ward_b: Any) -> None:
    camera_in(ward_a.ward, code="A-1")
    theirs = camera_in(ward_b.ward, code="B-1")
    client = api(ward_a.users["operator"])
    cases = [
        ({"camera": "A-1", "type": "alien"}, "type"),
        ({"camera": theirs.pk, "type": "manual"}, "camera"),
        ({"camera": "B-1", "type": "manual"}, "camera"),
        ({"camera": "A-1", "type": "manual", "note": "x" * 5000}, "note"),
        ({"camera": "A-1", "type": "manual", "severity": 9}, "severity"),
        ({"camera": "A-1", "type": "manual", "colour": "red"}, "colour"),
    ]
    for payload, field in cases:
        response = post(client, "/api/alerts/", payload)
        assert response.status_code == 400, payload
        assert field in response.json(), (payload, response.json())
    assert not Alert.objects.exists()


@override_settings(ALERT_GROUP_SECONDS=60)
def test_a_flood_of_the_same_rule_becomes_one_alert_with_a_count(ward_a: Any) -> None:
    camera = camera_in(ward_a.ward)
    start = timezone.now()
    first, _ = raise_alert(camera=camera, type="loitering", at=start)
    for seconds in (10, 20, 30):
        again, event = raise_alert(camera=camera, type="loitering", at=start + dt.timedelta(seconds=seconds))
        assert again.pk == first.pk and event.kind == "grouped"
    first.refresh_from_db()
    assert first.count == 4 and first.last_seen_at == start + dt.timedelta(seconds=30)
    later, _ = raise_alert(camera=camera, type="loitering", at=start + dt.timedelta(seconds=120))
    other, _ = raise_alert(camera=camera, type="crowding", at=start + dt.timedelta(seconds=31))
    assert len({first.pk, later.pk, other.pk}) == 3


def test_a_dismissed_alert_is_not_grouped_into(ward_a: Any) -> None:
    from analytics.services import dismiss

    camera = camera_in(ward_a.ward)
    first, _ = raise_alert(camera=camera, type="loitering")
    dismiss(alert=first, actor=ward_a.users["operator"], reason="Người bán hàng quen")
    second, _ = raise_alert(camera=camera, type="loitering")
    assert second.pk != first.pk


def test_handling_workflow_is_audited_and_logged(api: Any, ward_a: Any) -> None:
    camera = camera_in(ward_a.ward)
    alert, _ = raise_alert(camera=camera, type="person_fallen")
    operator, investigator = ward_a.users["operator"], ward_a.users["investigator"]
    client = api(operator)
    url = f"/api/alerts/{alert.pk}"
    assert post(client, f"{url}/acknowledge/").json()["status"] == "acknowledged"
    assert post(client, f"{url}/assign/", {"assignee": investigator.username}).json()["assigned_to"] == investigator.username
    assert post(client, f"{url}/note/", {"note": "Đã gọi cấp cứu 115"}).status_code == 200
    escalated = post(client, f"{url}/escalate/", {"note": "Lập hồ sơ"}).json()
    assert escalated["status"] == "escalated" and escalated["incident"]
    case = api(investigator).get(f"/api/cases/{escalated['incident']}/").json()
    assert case["status"] == "draft" and case["alerts"] == [alert.pk] and case["camera"] == camera.pk
    kinds = list(AlertEvent.objects.filter(alert=alert).order_by("id").values_list("kind", flat=True))
    assert kinds == ["raised", "acknowledged", "assigned", "noted", "escalated"]
    actions = set(AuditEntry.objects.filter(object_id=str(alert.pk)).values_list("action", flat=True))
    assert {"alert_acknowledged", "alert_assigned", "alert_noted", "alert_escalated"} <= actions
    # A closed alert cannot be handled again.
    response = post(client, f"{url}/dismiss/", {"reason": "late"})
    assert response.status_code == 400 and "status" in response.json()


def test_handling_errors_are_clear(api: Any, ward_a: Any, ward_b: Any) -> None:
    alert, _ = raise_alert(camera=camera_in(ward_a.ward), type="manual")
    client = api(ward_a.users["operator"])
    url = f"/api/alerts/{alert.pk}"
    assert "reason" in post(client, f"{url}/dismiss/", {}).json()
    assert "note" in post(client, f"{url}/note/", {"note": ""}).json()
    assert "assignee" in post(client, f"{url}/assign/", {"assignee": ward_b.users["operator"].username}).json()
    assert "assignee" in post(client, f"{url}/assign/", {"assignee": ward_a.users["official"].username}).json()
    assert post(api(ward_a.users["official"]), f"{url}/acknowledge/").status_code == 404  # cannot see alerts
    assert post(api(ward_b.users["operator"]), f"{url}/acknowledge/").status_code == 404
    alert.refresh_from_db()
    assert alert.status == "new"


def test_alert_filters(api: Any, ward_a: Any) -> None:
    camera = camera_in(ward_a.ward)
    low, _ = raise_alert(camera=camera, type="line_crossing")
    high, _ = raise_alert(camera=camera, type="person_fallen")
    client = api(ward_a.users["operator"])
    ids = lambda url: [a["id"] for a in client.get(url).json()["results"]]  # noqa: E731
    assert ids("/api/alerts/?min_severity=3") == [high.pk]
    assert ids("/api/alerts/?type=line_crossing") == [low.pk]
    assert set(ids("/api/alerts/?status=new")) == {low.pk, high.pk}
    assert client.get("/api/alerts/?since=yesterday").status_code == 400


def test_health_probe_marks_a_dead_camera_offline_and_back_online(ward_a: Any) -> None:
    from workers.tasks import check_camera_health

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    camera = camera_in(ward_a.ward, status=Camera.Status.ONLINE, main_stream_url=f"rtsp://127.0.0.1:{port}/live")
    listener.close()  # nothing listens: the camera is down
    assert check_camera_health(camera.pk) == "offline"
    assert check_camera_health(camera.pk) == "unchanged"  # no second alert for the same state
    listener = socket.socket()
    listener.bind(("127.0.0.1", port))
    listener.listen()
    try:
        assert check_camera_health(camera.pk) == "online"
    finally:
        listener.close()
    types = list(Alert.objects.filter(camera=camera).order_by("id").values_list("type", flat=True))
    assert types == ["camera_offline", "camera_online"]
    maintenance = camera_in(
        ward_a.ward, code="MAINT", status=Camera.Status.MAINTENANCE, main_stream_url=f"rtsp://127.0.0.1:{port}/x"
    )
    assert check_camera_health(maintenance.pk) == "skipped"


def test_snapshot_is_served_to_the_wards_officers_only(api: Any, ward_a: Any, ward_b: Any) -> None:
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buffer, "JPEG")
    camera_in(ward_a.ward, code="SNAP-1")
    upload = SimpleUploadedFile("s.jpg", buffer.getvalue(), content_type="image/jpeg")
    response = api(ward_a.users["operator"]).post(
        "/api/alerts/", {"camera": "SNAP-1", "type": "manual", "snapshot": upload}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    url = response.json()["snapshot"]
    assert url.endswith("/snapshot/") and "/media/" not in url
    for user, expected in ((ward_a.users["operator"], 200), (ward_b.users["operator"], 404), (ward_a.users["official"], 404)):
        client = Client()
        client.force_login(user)
        assert client.get(url).status_code == expected
    assert Client().get(url).status_code == 302
    garbage = SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")
    bad = api(ward_a.users["operator"]).post("/api/alerts/", {"camera": "SNAP-1", "snapshot": garbage}, format="multipart")
    assert bad.status_code == 400 and "snapshot" in bad.json()
