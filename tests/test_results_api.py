"""The REST API of what the pipeline found: tracks, plate reads, face sightings, recording segments.

The generic cases (tests/test_api_generic.py) cover scoping and roles; these cover what users rely on
beyond them: the filters, the plate key that folds OCR look-alikes, faces for investigators only
with the embedding on the detail alone, and the audited evidence hold on segments.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from analytics.models import ClipJob
from cameras.models import RecordingSegment
from portal.models import AuditEntry
from tests.base.analysis import T0, face_in, new_camera, plate_read_in, segment_in, track_in
from tests.conftest import WardWorld

pytestmark = pytest.mark.django_db


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def test_tracks_filter_by_camera_job_class_and_time(api: Any, ward_a: WardWorld) -> None:
    ward = ward_a.ward
    gate, market = new_camera(ward), new_camera(ward)
    job = ClipJob.objects.create(
        ward=ward, filename="c.mp4", file="clips/x.bin", recorded_at=T0, created_by=ward_a.users["operator"]
    )
    walker = track_in(ward, gate, first_seen=T0 + dt.timedelta(minutes=1), last_seen=T0 + dt.timedelta(minutes=2))
    car = track_in(ward, gate, cls="car", first_seen=T0 + dt.timedelta(hours=2), last_seen=T0 + dt.timedelta(hours=2, minutes=1))
    clip = track_in(ward, market, job=job, cls="motorbike")
    client = api(ward_a.users["operator"])
    assert ids(client.get(f"/api/tracks/?camera={gate.pk}")) == {walker.pk, car.pk}
    assert ids(client.get(f"/api/tracks/?job={job.pk}")) == {clip.pk}
    assert ids(client.get("/api/tracks/?class=car&class=motorbike")) == {car.pk, clip.pk}
    window = {"since": (T0 + dt.timedelta(minutes=30)).isoformat(), "until": (T0 + dt.timedelta(hours=3)).isoformat()}
    assert car.pk in ids(client.get("/api/tracks/", window)) and walker.pk not in ids(client.get("/api/tracks/", window))
    row = client.get(reverse("api:track-detail", args=[walker.pk])).json()
    assert row["class"] == "person" and row["camera_code"] == gate.code and row["path"][1] == [8, 200, 220]
    assert client.get("/api/tracks/?class=dragon").status_code == 400


def test_plate_search_matches_ocr_look_alikes_and_is_audited(api: Any, ward_a: WardWorld, ward_b: WardWorld) -> None:
    read = plate_read_in(ward_a.ward, plate="51F-123.45")
    slip = plate_read_in(ward_a.ward, plate="5IF-I23.4S")  # the same plate, read with OCR slips
    plate_read_in(ward_a.ward, plate="51F-123.46")
    theirs = plate_read_in(ward_b.ward, plate="51F-123.45")
    client = api(ward_a.users["investigator"])
    # A search needs a reason and a window (tests/plates/test_plate_search.py covers the rest).
    window = {"since": T0.isoformat(), "until": (T0 + dt.timedelta(days=1)).isoformat(), "reason": "Case TNP-2026-0001"}
    found = ids(client.get("/api/plate-reads/", {"plate": "51f 12345", **window}))
    assert found == {read.pk, slip.pk} and theirs.pk not in found
    assert ids(client.get("/api/plate-reads/", {"plate": "SIF-IZ3.4S", **window})) == {read.pk, slip.pk}
    entry = AuditEntry.objects.filter(action="plate_search", actor=ward_a.users["investigator"]).latest("id")
    assert entry.detail["query"]["plate"] == "SIF-IZ3.4S" and entry.detail["query"]["key"] == "51F12345"
    assert entry.reason == "Case TNP-2026-0001" and entry.detail["count"] == 2
    assert client.get("/api/plate-reads/", {"plate": "--", **window}).status_code == 400
    # Other filters: camera and time.
    assert ids(client.get("/api/plate-reads/", {"camera": read.camera_id})) == {read.pk}


def test_plate_crop_is_served_to_the_ward_investigators_only(
    api: Any, ward_a: WardWorld, ward_b: WardWorld, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    read = plate_read_in(ward_a.ward)
    read.crop.save("p.jpg", ContentFile(b"\xff\xd8\xff crop"), save=True)
    assert api(ward_a.users["operator"]).get(reverse("api:plateread-detail", args=[read.pk])).status_code == 404
    row = api(ward_a.users["investigator"]).get(reverse("api:plateread-detail", args=[read.pk])).json()
    response = api(ward_a.users["investigator"]).get(row["crop"], HTTP_ACCEPT="image/avif,image/webp,*/*")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"\xff\xd8\xff crop"
    assert api(ward_b.users["admin"]).get(row["crop"]).status_code == 404


def test_face_sightings_for_investigators_only_embedding_on_detail(api: Any, ward_a: WardWorld) -> None:
    face = face_in(ward_a.ward)
    assert ids(api(ward_a.users["operator"]).get("/api/face-sightings/")) == set()
    assert api(ward_a.users["operator"]).get(reverse("api:facesighting-detail", args=[face.pk])).status_code == 404
    investigator = api(ward_a.users["investigator"])
    listed = investigator.get("/api/face-sightings/").json()["results"]
    assert [row["id"] for row in listed] == [face.pk] and "embedding" not in listed[0]
    one = investigator.get(reverse("api:facesighting-detail", args=[face.pk])).json()
    assert len(one["embedding"]) == 128
    assert AuditEntry.objects.filter(action="face_sighting_viewed", object_id=str(face.pk)).exists()
    assert AuditEntry.objects.filter(action="face_sightings_listed", actor=ward_a.users["investigator"]).exists()


def test_segment_lock_and_unlock_are_audited_and_limited_to_investigators(api: Any, ward_a: WardWorld, ward_b: WardWorld) -> None:
    segment = segment_in(ward_a.ward)
    lock = reverse("api:recordingsegment-lock", args=[segment.pk])
    unlock = reverse("api:recordingsegment-unlock", args=[segment.pk])
    assert api(ward_a.users["operator"]).post(lock, {}, format="json").status_code == 403
    assert api(ward_b.users["admin"]).post(lock, {}, format="json").status_code == 404
    segment.refresh_from_db()
    assert not segment.locked

    investigator = api(ward_a.users["investigator"])
    response = investigator.post(lock, {"reason": "Vụ cướp giật 14/3"}, format="json")
    assert response.status_code == 200 and response.json()["locked"] is True
    entry = AuditEntry.objects.get(action="segment_locked", object_id=str(segment.pk))
    assert entry.actor == ward_a.users["investigator"] and entry.reason == "Vụ cướp giật 14/3"

    refused = investigator.post(unlock, {}, format="json")
    assert refused.status_code == 400 and "reason" in refused.json()
    assert investigator.post(unlock, {"reason": "Case closed", "extra": 1}, format="json").status_code == 400
    assert investigator.post(unlock, {"reason": "Case closed"}, format="json").json()["locked"] is False
    assert AuditEntry.objects.filter(action="segment_unlocked", object_id=str(segment.pk), reason="Case closed").exists()
    # Footage is deleted by retention only, never through the API.
    assert api(ward_a.users["admin"]).delete(reverse("api:recordingsegment-detail", args=[segment.pk])).status_code == 405
    assert (
        api(ward_a.users["admin"])
        .patch(reverse("api:recordingsegment-detail", args=[segment.pk]), {"locked": True}, format="json")
        .status_code
        == 405
    )
    assert RecordingSegment.objects.filter(pk=segment.pk).exists()


def test_segments_filter_by_camera_and_overlapping_window(api: Any, ward_a: WardWorld) -> None:
    camera = new_camera(ward_a.ward)
    first = segment_in(ward_a.ward, camera, started_at=T0, ended_at=T0 + dt.timedelta(seconds=60))
    second = segment_in(ward_a.ward, camera, started_at=T0 + dt.timedelta(seconds=60), ended_at=T0 + dt.timedelta(seconds=120))
    segment_in(ward_a.ward)
    client = api(ward_a.users["operator"])
    assert ids(client.get("/api/recording-segments/", {"camera": camera.pk})) == {first.pk, second.pk}
    # 10:00:30–10:00:45 lies inside the first segment only.
    window = {
        "camera": camera.pk,
        "since": (T0 + dt.timedelta(seconds=30)).isoformat(),
        "until": (T0 + dt.timedelta(seconds=45)).isoformat(),
    }
    assert ids(client.get("/api/recording-segments/", window)) == {first.pk}
    row = client.get(reverse("api:recordingsegment-detail", args=[first.pk])).json()
    assert row["duration_s"] == 60.0 and row["locked"] is False
