"""Clips cut from real recorded segments: the asked window, the recorded hash, the evidence hold."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Evidence
from tests.incidents.conftest import record
from workers.recording import apply_retention

pytestmark = pytest.mark.django_db


def probe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True,
        check=True,
        text=True,
    )
    return json.loads(out.stdout)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def old_footage(camera: Any, media: Path) -> tuple[dt.datetime, list[Any]]:
    """Three 4-second segments recorded 40 days ago: past the camera's 30-day retention."""
    camera.retention_days = 30
    camera.save(update_fields=["retention_days"])
    started = (timezone.now() - dt.timedelta(days=40)).replace(microsecond=0)
    return started, record(camera, started=started, media_root=media)


def test_clip_holds_the_asked_window_and_its_hash(case: Any, camera: Any, ward_a: Any, media: Path, old_footage: Any) -> None:
    started, segments = old_footage
    start, end = started + dt.timedelta(seconds=5.5), started + dt.timedelta(seconds=9.2)
    clip = services.add_clip(case=case, camera=camera, start=start, end=end, actor=ward_a.users["investigator"])
    assert clip.status == Evidence.Status.PENDING

    clip = services.process_evidence(evidence_id=clip.pk)
    assert clip is not None
    clip.refresh_from_db()
    assert clip.status == Evidence.Status.READY, clip.error
    # Stream copy starts on the key frame at or before the asked start (one a second here).
    assert clip.true_start is not None and clip.true_end is not None
    assert clip.true_start <= start and start - clip.true_start <= dt.timedelta(seconds=1)
    assert abs(clip.true_end - end) <= dt.timedelta(seconds=1)
    stored = media / clip.file.name
    assert clip.file.name == f"evidence/{clip.sha256[:2]}/{clip.sha256[2:4]}/{clip.sha256}.mp4"
    assert sha256(stored) == clip.sha256 and stored.stat().st_size == clip.size
    info = probe(stored)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert video["codec_name"] == "h264" and (video["width"], video["height"]) == (320, 240)  # no re-encode
    assert abs(float(info["format"]["duration"]) - (clip.true_end - clip.true_start).total_seconds()) < 0.05
    # The segments behind the clip are held; the one before the window is not.
    assert set(clip.segments.values_list("pk", flat=True)) == {segments[1].pk, segments[2].pk}
    for segment in segments:
        segment.refresh_from_db()
    assert [s.locked for s in segments] == [False, True, True]
    # Custody: requested, then intake with the hash.
    actions = list(case.custody.order_by("seq").values_list("action", "evidence_sha256"))
    assert actions == [("requested", ""), ("intake", clip.sha256)]

    # Retention after the cut keeps the held segments (and their files); the other one goes.
    report = apply_retention()
    assert report.deleted == 1 and report.kept_locked == 2
    assert all((media / s.path).is_file() for s in segments[1:])
    assert not (media / segments[0].path).exists()

    # Running the task again changes nothing (idempotent).
    again = services.process_evidence(evidence_id=clip.pk)
    assert again is not None and again.sha256 == clip.sha256
    assert case.custody.count() == 2

    # Closing alone keeps the hold; releasing it lets retention take the recordings, not the clip.
    with pytest.raises(services.ValidationError):
        services.release_hold(case=case, actor=ward_a.users["investigator"], reason="done")
    services.change_status(case=case, status="investigating", actor=ward_a.users["investigator"])
    services.change_status(case=case, status="closed", actor=ward_a.users["investigator"], note="Suspect convicted.")
    assert apply_retention().kept_locked == 2
    assert services.release_hold(case=case, actor=ward_a.users["admin"], reason="Court case over.") == 2
    report = apply_retention()
    assert report.deleted == 2
    assert not any((media / s.path).exists() for s in segments)
    assert sha256(stored) == clip.sha256  # the evidence itself stays
    assert not services.verify_custody(case=case)


def test_segment_needed_by_another_open_case_stays_held(
    case: Any, camera: Any, ward_a: Any, media: Path, old_footage: Any
) -> None:
    started, segments = old_footage
    user = ward_a.users["investigator"]
    other = services.create_case(ward=ward_a.ward, actor=user, title="Second case", occurred_at=timezone.now())
    for c in (case, other):
        clip = services.add_clip(
            case=c, camera=camera, start=started + dt.timedelta(seconds=1), end=started + dt.timedelta(seconds=3), actor=user
        )
        services.process_evidence(evidence_id=clip.pk)
    services.change_status(case=case, status="referred", actor=user, note="Sent to the district police.")
    assert services.release_hold(case=case, actor=user, reason="Referred.") == 0
    segments[0].refresh_from_db()
    assert segments[0].locked


def test_window_without_recordings_fails_and_says_which(case: Any, camera: Any, ward_a: Any, media: Path, english: Any) -> None:
    start = timezone.now() - dt.timedelta(hours=2)
    clip = services.add_clip(
        case=case, camera=camera, start=start, end=start + dt.timedelta(seconds=20), actor=ward_a.users["investigator"]
    )
    services.process_evidence(evidence_id=clip.pk)
    clip.refresh_from_db()
    assert clip.status == Evidence.Status.FAILED
    local = timezone.localtime(start).strftime("%Y-%m-%d %H:%M:%S")
    assert "CAM-1" in clip.error and local in clip.error and "no recordings" in clip.error
    assert case.custody.order_by("-seq").first().action == "failed"


def test_snapshot_from_recordings_is_a_jpeg(case: Any, camera: Any, ward_a: Any, media: Path, old_footage: Any) -> None:
    started, _segments = old_footage
    still = services.add_snapshot(
        case=case, camera=camera, at=started + dt.timedelta(seconds=6), actor=ward_a.users["investigator"]
    )
    services.process_evidence(evidence_id=still.pk)
    still.refresh_from_db()
    assert still.status == Evidence.Status.READY, still.error
    data = (media / still.file.name).read_bytes()
    assert data[:3] == b"\xff\xd8\xff" and hashlib.sha256(data).hexdigest() == still.sha256
    assert still.content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("start_s", "end_s"),
    [(-10, -20), (-3 * 3600, -3600), (-60, 3600)],
    ids=["reversed", "too-long", "future"],
)
def test_bad_windows_are_refused(case: Any, camera: Any, ward_a: Any, start_s: int, end_s: int) -> None:
    now = timezone.now()
    with pytest.raises(services.ValidationError) as err:
        services.add_clip(
            case=case,
            camera=camera,
            start=now + dt.timedelta(seconds=start_s),
            end=now + dt.timedelta(seconds=end_s),
            actor=ward_a.users["investigator"],
        )
    assert "end" in err.value.message_dict
    assert not Evidence.objects.exists()


def test_snapshot_from_an_alert_is_kept_as_is(case: Any, camera: Any, ward_a: Any, media: Path) -> None:
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from analytics.services import raise_alert

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(buf, format="JPEG")
    alert, _event = raise_alert(
        camera=camera, type="manual", note="seen", snapshot=SimpleUploadedFile("s.jpg", buf.getvalue(), content_type="image/jpeg")
    )
    still = services.add_snapshot(case=case, alert=alert, actor=ward_a.users["investigator"])
    assert still.status == Evidence.Status.READY and still.camera == camera
    assert still.sha256 == hashlib.sha256(buf.getvalue()).hexdigest() == sha256(media / still.file.name)
