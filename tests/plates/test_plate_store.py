"""Plate reads from other systems (``POST /api/plate-reads/``), retention, and sightings put into a case.

Edge cameras that read plates themselves post one read or a batch; a resend with the same
``client_id`` stores nothing new; one bad item refuses the whole batch, naming it.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from analytics.models import PlateRead
from analytics.plates.store import apply_retention
from tests.base.analysis import T0, new_camera, plate_read_in
from tests.conftest import WardWorld

pytestmark = pytest.mark.django_db

URL = "/api/plate-reads/"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def read(camera: Any, n: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "camera": camera.code,
        "plate": f"51F-123.{n % 100:02d}",
        "seen_at": (T0 + dt.timedelta(seconds=n)).isoformat(),
        "confidence": 0.9,
        **extra,
    }


def test_post_one_read_by_code_or_id(api: Any, ward_a: WardWorld, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    camera = new_camera(ward_a.ward, "EDGE")
    client = api(ward_a.users["operator"])
    response = client.post(
        URL,
        read(camera, 45, plate="5IF-I23.4S", client_id="cam7-000001", vehicle_class="car", image=base64.b64encode(JPEG).decode()),
        format="json",
    )
    assert response.status_code == 201, response.json()
    row = response.json()
    assert row["text"] == "51F-123.45" and row["search_key"] == "51F12345" and row["plate"] == "5IF-I23.4S"
    assert row["ward"] == ward_a.ward.slug and row["camera_code"] == camera.code and row["origin"] == "edge"
    assert row["vehicle_class"] == "car" and row["client_id"] == "cam7-000001"
    assert client.get(row["crop"]).status_code == 404  # operators send reads, investigators look at them
    crop = api(ward_a.users["investigator"]).get(row["crop"])
    assert crop.status_code == 200 and b"".join(crop.streaming_content) == JPEG
    # By id, from an admin, without a client id or image.
    second = api(ward_a.users["admin"]).post(URL, read(camera, 2) | {"camera": camera.pk}, format="json")
    assert second.status_code == 201 and second.json()["client_id"] is None and second.json()["crop"] is None


def test_post_with_a_multipart_image(api: Any, ward_a: WardWorld, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    camera = new_camera(ward_a.ward, "EDGE")
    body = read(camera, 3) | {"image": SimpleUploadedFile("p.png", PNG, content_type="image/png")}
    response = api(ward_a.users["operator"]).post(URL, body, format="multipart")
    assert response.status_code == 201, response.json()
    crop = api(ward_a.users["investigator"]).get(response.json()["crop"])
    assert crop["Content-Type"] == "image/png" and b"".join(crop.streaming_content) == PNG


def test_post_a_batch_and_resend_it_harmlessly(api: Any, ward_a: WardWorld) -> None:
    camera = new_camera(ward_a.ward, "EDGE")
    client = api(ward_a.users["operator"])
    batch = [read(camera, n, client_id=f"cam-{n}") for n in range(50)]
    response = client.post(URL, batch, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["created"] == 50 and data["existing"] == 0 and len(data["ids"]) == 50
    assert set(PlateRead.objects.filter(pk__in=data["ids"]).values_list("ward_id", flat=True)) == {ward_a.ward.pk}
    # The network dropped the answer: the camera sends the same batch again, plus one new read.
    again = client.post(URL, [*batch, read(camera, 99, client_id="cam-99")], format="json").json()
    assert again["created"] == 1 and again["existing"] == 50 and again["ids"][:50] == data["ids"]
    assert PlateRead.objects.count() == 51
    # A single resend answers 200 with the stored read.
    one = client.post(URL, batch[0], format="json")
    assert one.status_code == 200 and one.json()["id"] == data["ids"][0]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"plate": "--//"}, "plate"),
        ({"plate": ""}, "plate"),
        ({"seen_at": "2026-03-01T08:00:00"}, "seen_at"),  # naive
        ({"seen_at": "yesterday"}, "seen_at"),
        ({"seen_at": (timezone.now() + dt.timedelta(days=1)).isoformat()}, "seen_at"),
        ({"confidence": 1.5}, "confidence"),
        ({"confidence": "high"}, "confidence"),
        ({"camera": "NO-SUCH"}, "camera"),
        ({"camera": 987654}, "camera"),
        ({"client_id": "has spaces & more"}, "client_id"),
        ({"vehicle_class": "tank"}, "vehicle_class"),
        ({"image": base64.b64encode(b"GIF89a" + b"\x00" * 20).decode()}, "image"),  # disguised
        ({"image": "not base64!!"}, "image"),
        ({"image": base64.b64encode(JPEG + b"\x00" * 600_000).decode()}, "image"),  # too big
        ({"colour": "red"}, "colour"),
        ({"plate": "hello world"}, "plate"),  # letters and digits, but no plate
        ({"seen_at": "1900-01-01T00:00:00+07:00"}, "seen_at"),  # a camera clock never set
    ],
)
def test_bad_item_refuses_the_whole_batch(api: Any, ward_a: WardWorld, bad: dict[str, Any], field: str) -> None:
    camera = new_camera(ward_a.ward, "EDGE")
    batch = [read(camera, n) for n in range(5)]
    batch[3] = batch[3] | bad
    response = api(ward_a.users["operator"]).post(URL, batch, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"3"} and field in errors["3"], errors
    assert not PlateRead.objects.exists()


def test_camera_of_another_ward_is_refused_without_saying_whose(api: Any, ward_a: WardWorld, ward_b: WardWorld) -> None:
    theirs = new_camera(ward_b.ward, "THEIRS")
    mine = new_camera(ward_a.ward, "MINE")
    response = api(ward_a.users["operator"]).post(URL, [read(mine, 1), read(theirs, 2)], format="json")
    assert response.status_code == 400 and "camera" in response.json()["1"]
    assert ward_b.ward.slug not in str(response.json())
    assert not PlateRead.objects.exists()
    # Officials and investigators do not post reads.
    for role in ("official", "investigator"):
        assert api(ward_a.users[role]).post(URL, read(mine, 1), format="json").status_code == 403


def test_empty_and_oversized_batches_are_refused(api: Any, ward_a: WardWorld) -> None:
    camera = new_camera(ward_a.ward, "EDGE")
    client = api(ward_a.users["operator"])
    assert client.post(URL, [], format="json").status_code == 400
    assert client.post(URL, [read(camera, n) for n in range(1001)], format="json").status_code == 400
    assert not PlateRead.objects.exists()


def test_retention_keeps_reads_linked_to_a_case(ward_a: WardWorld, ward_b: WardWorld, settings: Any, tmp_path: Any) -> None:
    from incidents.services import create_case, link

    settings.MEDIA_ROOT = tmp_path
    settings.PLATE_READ_RETENTION_DAYS = 30
    now = timezone.now()
    ward_b.ward.plate_read_retention_days = 7
    ward_b.ward.save()
    old = plate_read_in(ward_a.ward, seen_at=now - dt.timedelta(days=40))
    old.crop.save("old.jpg", ContentFile(JPEG), save=True)
    crop_path = tmp_path / old.crop.name
    evidence = plate_read_in(ward_a.ward, seen_at=now - dt.timedelta(days=40))
    recent = plate_read_in(ward_a.ward, seen_at=now - dt.timedelta(days=20))
    b_old = plate_read_in(ward_b.ward, seen_at=now - dt.timedelta(days=10))  # past ward B's own 7 days
    b_recent = plate_read_in(ward_b.ward, seen_at=now - dt.timedelta(days=3))
    case = create_case(ward=ward_a.ward, actor=ward_a.users["investigator"], title="Giật túi", occurred_at=now)
    link(case=case, actor=ward_a.users["investigator"], plate_reads=[evidence])
    assert crop_path.exists()

    result = apply_retention(now=now)

    left = set(PlateRead.objects.values_list("pk", flat=True))
    assert left == {evidence.pk, recent.pk, b_recent.pk}
    assert old.pk not in left and b_old.pk not in left
    assert result == {"deleted": 2, "images": 1} and not crop_path.exists()
    assert apply_retention(now=now) == {"deleted": 0, "images": 0}  # twice is harmless


def test_add_sightings_to_a_case_requests_clips(api: Any, ward_a: WardWorld, ward_b: WardWorld) -> None:
    from incidents.models import Evidence
    from incidents.services import create_case

    now = timezone.now()
    camera = new_camera(ward_a.ward, "ROUTE")
    first = plate_read_in(ward_a.ward, camera, seen_at=now - dt.timedelta(hours=2))
    second = plate_read_in(ward_a.ward, camera, seen_at=now - dt.timedelta(hours=1))
    theirs = plate_read_in(ward_b.ward, seen_at=now - dt.timedelta(hours=1))
    case = create_case(ward=ward_a.ward, actor=ward_a.users["investigator"], title="Giật túi", occurred_at=now)
    client = api(ward_a.users["investigator"])
    url = URL + "add-to-case/"

    refused = client.post(url, {"case": case.pk, "reads": [first.pk, theirs.pk]}, format="json")
    assert refused.status_code == 400 and "reads" in refused.json()
    assert not Evidence.objects.exists()
    assert api(ward_a.users["official"]).post(url, {"case": case.pk, "reads": [first.pk]}, format="json").status_code == 403

    response = client.post(url, {"case": case.pk, "reads": [second.pk, first.pk], "margin_s": 20}, format="json")
    assert response.status_code == 201, response.json()
    clips = list(Evidence.objects.filter(case=case).order_by("requested_start"))
    assert [e.pk for e in clips] == response.json()["evidence"]
    assert [(e.camera_id, e.requested_start, e.requested_end) for e in clips] == [
        (camera.pk, r.seen_at - dt.timedelta(seconds=20), r.seen_at + dt.timedelta(seconds=20)) for r in (first, second)
    ]
    assert set(case.plate_reads.values_list("pk", flat=True)) == {first.pk, second.pk}
    # Another ward's case is not found.
    other = create_case(ward=ward_b.ward, actor=ward_b.users["investigator"], title="B", occurred_at=now)
    assert "case" in client.post(url, {"case": other.pk, "reads": [first.pk]}, format="json").json()


def test_canonical_plates_skip_the_parser_with_the_same_result() -> None:
    import random

    from analytics.plates.grammar import SERIES_LETTERS, normalise
    from analytics.plates.store import canonical_text

    rng = random.Random(6)
    letters = "".join(sorted(SERIES_LETTERS)) + "IOQWJ"
    for _ in range(2000):
        p, series, n, d = rng.randint(0, 99), rng.choice(letters), rng.randint(0, 99999), rng.randint(0, 9)
        for plate in (
            f"{p:02d}{series}-{n // 100:03d}.{n % 100:02d}",
            f"{p:02d}{series}-{n % 10000:04d}",
            f"{p:02d}-{series}{d} {n // 100:03d}.{n % 100:02d}",
            f"{p:02d}-{series}{d} {n % 10000:04d}",
        ):
            assert canonical_text(plate) == normalise(plate), plate


def test_retention_is_scheduled() -> None:
    from django.conf import settings

    from portal.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["plate-reads-retention"]
    app.loader.import_default_modules()
    assert entry["task"] == "analytics.plate_retention" and entry["task"] in app.tasks


def test_plate_reads_are_for_investigators_and_admins_and_lists_are_audited(api: Any, ward_a: WardWorld) -> None:
    """A list of reads shows who drove where: operators post reads but never list them (DESIGN.md §3)."""
    from portal.models import AuditEntry

    camera = new_camera(ward_a.ward, "EDGE")
    assert api(ward_a.users["operator"]).post(URL, [read(camera, 0)], format="json").status_code == 201
    for role in ("official", "operator"):
        response = api(ward_a.users[role]).get(URL)
        assert response.status_code == 200 and response.json()["count"] == 0, role
    listed = api(ward_a.users["investigator"]).get(URL, {"camera": camera.pk})
    assert listed.json()["count"] == 1
    entry = AuditEntry.objects.get(action="plate_reads_listed", actor=ward_a.users["investigator"])
    assert f"camera={camera.pk}" in entry.detail["query"]


def test_one_client_id_twice_in_a_batch_is_refused(api: Any, ward_a: WardWorld, english: Any) -> None:
    camera = new_camera(ward_a.ward, "EDGE")
    batch = [read(camera, 0, client_id="edge-1"), read(camera, 1, client_id="edge-1")]
    response = api(ward_a.users["operator"]).post(URL, batch, format="json")
    assert response.status_code == 400
    assert "same client_id" in response.json()["1"]["client_id"][0]
    assert not PlateRead.objects.exists()
