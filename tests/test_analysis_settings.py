"""Per-camera analysis settings: the API validates with the pipeline's own schema, the page edits them.

What a ward admin relies on: a zone, line or rule that cannot run is refused with the list and the
item named, so the page can mark it; operators and investigators read but cannot change; faces stay
inactive while the ward has them off; another ward's camera is "not found".
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.urls import reverse

from analytics.models import AnalysisSettings
from portal.models import AuditEntry
from tests.base.analysis import new_camera, settings_in
from tests.conftest import WardWorld

pytestmark = pytest.mark.django_db

LIST = "/api/analysis-settings/"

GOOD = {
    "zones": [
        {"name": "gate", "kind": "intrusion", "polygon": [[10, 10], [300, 10], [300, 200], [10, 200]]},
        {"name": "pavement", "kind": "sidewalk", "polygon": [[0, 400], [768, 400], [768, 576], [0, 576]]},
    ],
    "lines": [{"name": "walkway", "points": [[100, 300], [700, 300]], "forward": "south", "backward": "north"}],
    "masks": [{"name": "window", "kind": "privacy", "polygon": [[600, 0], [768, 0], [768, 80]]}],
    "rules": [
        {"type": "zone_intrusion", "name": "gate at night", "zones": ["gate"], "classes": ["person"]},
        {"type": "line_crossing", "name": "count", "lines": ["walkway"]},
        {"type": "encroachment", "name": "stalls", "zones": ["pavement"], "seconds": 300},
        {"type": "crowding", "name": "crowd", "zones": ["gate"], "max_people": 5},
    ],
    "image_width": 768,
    "image_height": 576,
}


def detail(pk: int) -> str:
    return reverse("api:analysissettings-detail", args=[pk])


def test_admin_saves_zones_lines_rules_and_the_pipeline_accepts_them(api: Any, ward_a: WardWorld) -> None:
    from analytics.vision import pipeline_config

    camera = new_camera(ward_a.ward)
    response = api(ward_a.users["admin"]).post(
        LIST, {"camera": camera.code, **GOOD, "record": True, "retention_days": 14}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["ward"] == ward_a.ward.slug and body["camera"] == camera.pk
    assert body["health"] is None  # no supervisor has watched it yet
    saved = AnalysisSettings.objects.get(camera=camera)
    assert saved.zones == GOOD["zones"] and saved.rules == GOOD["rules"] and saved.record
    camera.refresh_from_db()
    assert camera.retention_days == 14
    config = pipeline_config(saved)
    assert [z.name for z in config.zones] == ["gate", "pavement"] and len(config.rules) == 4
    assert AuditEntry.objects.filter(action="analysissettings_created", object_id=str(saved.pk)).exists()
    assert AuditEntry.objects.filter(action="camera_changed", object_id=str(camera.pk)).exists()
    # A second row for the same camera is refused with what to do instead.
    again = api(ward_a.users["admin"]).post(LIST, {"camera": camera.pk}, format="json")
    assert again.status_code == 400 and "camera" in again.json()


BAD = [
    pytest.param(
        {"zones": [{"name": "z", "kind": "intrusion", "polygon": [[0, 0], [10, 10]]}]},
        "zones",
        "zones.0.polygon",
        id="two-points",
    ),
    pytest.param(
        {"zones": [{"name": "z", "kind": "intrusion", "polygon": [[0, 0], [10, 10], [20, 20]]}]}, "zones", "no area", id="flat"
    ),
    pytest.param(
        {"zones": [{"name": "z", "kind": "intrusion", "colour": "red", "polygon": [[0, 0], [50, 0], [0, 50]]}]},
        "zones",
        "zones.0.colour",
        id="unknown-zone-field",
    ),
    pytest.param(
        {"rules": [{"type": "zone_intrusion", "name": "r", "zones": ["nowhere"]}]},
        "rules",
        "rules.0 (r).zones: no zone named",
        id="missing-zone",
    ),
    pytest.param(
        {
            "zones": [{"name": "gate", "kind": "intrusion", "polygon": [[0, 0], [50, 0], [0, 50]]}],
            "rules": [{"type": "encroachment", "name": "stalls", "zones": ["gate"]}],
        },
        "rules",
        "encroachment needs a sidewalk or roadway zone",
        id="encroachment-on-intrusion-zone",
    ),
    pytest.param({"lines": [{"name": "l", "points": [[5, 5], [5, 5]]}]}, "lines", "lines.0", id="line-of-one-point"),
    pytest.param(
        {
            "rules": [{"type": "crowding", "name": "c", "zones": ["z"], "max_people": 0}],
            "zones": [{"name": "z", "kind": "intrusion", "polygon": [[0, 0], [50, 0], [0, 50]]}],
        },
        "rules",
        "rules.0.crowding.max_people",
        id="below-limit",
    ),
    pytest.param({"rules": [{"type": "teleport", "name": "t"}]}, "rules", "rules.0", id="unknown-rule-type"),
    pytest.param({"detectors": ["yolo-imaginary"]}, "detectors", "yolo-imaginary", id="unknown-model"),
    pytest.param(
        {
            "image_width": 100,
            "image_height": 100,
            "zones": [{"name": "z", "kind": "intrusion", "polygon": [[0, 0], [500, 0], [0, 50]]}],
        },
        "zones",
        "outside the 100×100 snapshot",
        id="outside-the-image",
    ),
    pytest.param({"zones": {"name": "z"}}, "zones", "list", id="not-a-list"),
    pytest.param({"speed": 3}, "speed", "Unknown field", id="unknown-field"),
]


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize(("payload", "field", "says"), BAD)
def test_bad_settings_are_refused_naming_the_place(api: Any, ward_a: WardWorld, payload: dict, field: str, says: str) -> None:
    analysis = settings_in(ward_a.ward)
    response = api(ward_a.users["admin"]).patch(detail(analysis.pk), payload, format="json")
    assert response.status_code == 400, response.json()
    errors = response.json()
    assert field in errors, errors
    assert any(says in message for message in errors[field]), errors
    analysis.refresh_from_db()
    assert analysis.zones == [] and analysis.rules == []  # nothing half-saved


def test_other_wards_settings_and_camera_are_not_found(api: Any, ward_a: WardWorld, ward_b: WardWorld, client: Any) -> None:
    theirs = settings_in(ward_b.ward)
    admin = api(ward_a.users["admin"])
    assert admin.get(detail(theirs.pk)).status_code == 404
    assert admin.patch(detail(theirs.pk), {"live": True}, format="json").status_code == 404
    response = admin.post(LIST, {"camera": theirs.camera.pk}, format="json")
    assert response.status_code == 400 and "camera" in response.json()
    client.force_login(ward_a.users["admin"])
    assert client.get(reverse("camera-analysis", args=[theirs.camera.pk])).status_code == 404


def test_operators_and_investigators_read_but_cannot_edit(api: Any, ward_a: WardWorld, client: Any) -> None:
    analysis = settings_in(ward_a.ward, zones=GOOD["zones"])
    for role in ("operator", "investigator"):
        user = api(ward_a.users[role])
        assert user.get(detail(analysis.pk)).json()["zones"] == GOOD["zones"]
        assert user.patch(detail(analysis.pk), {"live": True}, format="json").status_code == 403
        client.force_login(ward_a.users[role])
        page = client.get(reverse("camera-analysis", args=[analysis.camera.pk]))
        assert page.status_code == 200
        assert page.context["config"]["canEdit"] is False and b'id="an-save"' not in page.content
    # Officials do not handle alerts or analysis: the page does not exist for them.
    client.force_login(ward_a.users["official"])
    assert client.get(reverse("camera-analysis", args=[analysis.camera.pk])).status_code == 404


def test_faces_stay_inactive_until_the_ward_enables_them(api: Any, ward_a: WardWorld, client: Any) -> None:
    from analytics.vision import pipeline_config

    analysis = settings_in(ward_a.ward)
    admin = api(ward_a.users["admin"])
    body = admin.patch(detail(analysis.pk), {"detect_faces": True}, format="json").json()
    assert body["detect_faces"] is True and body["faces_active"] is False
    analysis.refresh_from_db()
    assert "faces" not in pipeline_config(analysis).model_dump(exclude_unset=True)
    page_url = reverse("camera-analysis", args=[analysis.camera.pk])
    client.force_login(ward_a.users["admin"])
    assert client.get(page_url).context["config"]["facesEnabled"] is False

    # Turning faces on needs a reason, and is audited with it.
    refused = client.post(reverse("ward-faces"), {"ward": ward_a.ward.pk, "enabled": "1", "reason": " ", "next": page_url})
    assert refused.status_code == 302
    ward_a.ward.refresh_from_db()
    assert not ward_a.ward.faces_enabled
    client.post(
        reverse("ward-faces"), {"ward": ward_a.ward.pk, "enabled": "1", "reason": "Quyết định 12/QĐ-UBND", "next": page_url}
    )
    ward_a.ward.refresh_from_db()
    assert ward_a.ward.faces_enabled
    entry = AuditEntry.objects.get(action="faces_enabled", ward=ward_a.ward)
    assert entry.reason == "Quyết định 12/QĐ-UBND" and entry.actor == ward_a.users["admin"]
    assert admin.get(detail(analysis.pk)).json()["faces_active"] is True

    # An operator cannot switch it off.
    client.force_login(ward_a.users["operator"])
    assert client.post(reverse("ward-faces"), {"ward": ward_a.ward.pk, "enabled": "0", "reason": "x"}).status_code == 404
    ward_a.ward.refresh_from_db()
    assert ward_a.ward.faces_enabled


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 150)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.usefixtures("english")
def test_admin_uploads_a_snapshot_to_draw_on(client: Any, ward_a: WardWorld, settings: Any, tmp_path: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    camera = new_camera(ward_a.ward)
    upload_url = reverse("camera-analysis-upload", args=[camera.pk])
    client.force_login(ward_a.users["operator"])
    assert client.post(upload_url, {"snapshot": SimpleUploadedFile("s.png", _png(64, 48))}).status_code == 403

    client.force_login(ward_a.users["admin"])
    response = client.post(upload_url, {"snapshot": SimpleUploadedFile("s.png", b"not an image at all")}, follow=True)
    assert "not a readable image" in response.content.decode()
    assert not AnalysisSettings.objects.filter(camera=camera).exists()

    client.post(upload_url, {"snapshot": SimpleUploadedFile("s.png", _png(640, 360))})
    analysis = AnalysisSettings.objects.get(camera=camera)
    assert (analysis.image_width, analysis.image_height) == (640, 360)
    page = client.get(reverse("camera-analysis", args=[camera.pk]))
    config = page.context["config"]
    assert config["backgroundSource"] == "upload"
    image = client.get(config["background"])
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    # The live frame, once a supervisor writes one, takes over as the background.
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / f"{camera.pk}.jpg").write_bytes(b"\xff\xd8jpeg")
    assert client.get(reverse("camera-analysis", args=[camera.pk])).context["config"]["backgroundSource"] == "live"


def test_page_carries_the_rule_schema_and_settings(client: Any, ward_a: WardWorld) -> None:
    analysis = settings_in(ward_a.ward, zones=GOOD["zones"], lines=GOOD["lines"], rules=GOOD["rules"][:2])
    client.force_login(ward_a.users["admin"])
    page = client.get(reverse("camera-analysis", args=[analysis.camera.pk]))
    assert page.status_code == 200
    config = json.loads(page.content.decode().split('id="analysis-config" type="application/json">')[1].split("</script>")[0])
    assert config["settings"]["zones"] == GOOD["zones"] and config["canEdit"] is True
    types = {t["type"]: t for t in config["ruleTypes"]}
    crowding = {p["name"]: p for p in types["crowding"]["params"]}
    assert crowding["max_people"]["default"] == 10 and crowding["max_people"]["min"] == 1
    assert types["line_crossing"]["lines"] and not types["line_crossing"]["zones"]
    assert types["loitering"]["classes"] == ["person"]
    detail_page = client.get(reverse("camera-detail", args=[analysis.camera.pk]))
    assert reverse("camera-analysis", args=[analysis.camera.pk]) in detail_page.content.decode()


def test_health_comes_from_the_stream_lease(api: Any, ward_a: WardWorld, client: Any) -> None:
    import datetime as dt

    from workers.models import StreamLease

    analysis = settings_in(ward_a.ward)
    frame_at = dt.datetime(2026, 3, 1, 1, 2, 3, tzinfo=dt.UTC)  # 08:02:03 in Ho Chi Minh City
    StreamLease.objects.create(
        camera=analysis.camera, holder="worker-1@host", connected=True, last_frame_at=frame_at, fps=4.9, lag_s=0.3, reconnects=2,
        recording=True,
    )  # fmt: skip
    health = api(ward_a.users["operator"]).get(detail(analysis.pk)).json()["health"]
    assert health["connected"] is True and health["worker"] == "worker-1@host" and health["reconnects"] == 2
    assert health["fps"] == 4.9 and health["recording"] is True
    client.force_login(ward_a.users["operator"])
    page = client.get(reverse("camera-detail", args=[analysis.camera.pk])).content.decode()
    assert "08:02" in page  # local time of the ward
