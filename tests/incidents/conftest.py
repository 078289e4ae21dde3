"""Real recordings for case files: MP4 segments made by ffmpeg's segment muxer, registered with their times."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tests.base.factories import camera_in


def record(camera: Any, *, started: dt.datetime, count: int = 3, seconds: int = 4, media_root: Path) -> list[Any]:
    """``count`` real segments of ``seconds`` each (H.264, a key frame every second), as the recorder writes them."""
    from cameras.models import RecordingSegment
    from workers.recording import camera_folder

    folder = media_root / camera_folder(camera.pk)
    folder.mkdir(parents=True, exist_ok=True)
    tag = f"{started:%Y%m%d-%H%M%S}"
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc=size=320x240:rate=10:duration={count * seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p",
            "-f", "segment", "-segment_time", str(seconds), "-segment_format", "mp4", "-reset_timestamps", "1",
            str(folder / f"{tag}-%03d.mp4"),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    rows = []
    for i in range(count):
        name = f"{tag}-{i:03d}.mp4"
        begin = started + dt.timedelta(seconds=i * seconds)
        rows.append(
            RecordingSegment.objects.create(
                ward_id=camera.ward_id,
                camera=camera,
                path=f"{camera_folder(camera.pk)}/{name}",
                started_at=begin,
                ended_at=begin + dt.timedelta(seconds=seconds),
                size=(folder / name).stat().st_size,
            )
        )
    return rows


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def camera(ward_a: Any) -> Any:
    return camera_in(ward_a.ward, code="CAM-1")


@pytest.fixture
def case(ward_a: Any) -> Any:
    from incidents.services import create_case

    return create_case(
        ward=ward_a.ward,
        actor=ward_a.users["investigator"],
        title="Snatching near the market",
        type="snatching",
        occurred_at=timezone.now() - dt.timedelta(hours=1),
    )


@pytest.fixture
def keys(settings: Any, tmp_path: Path) -> Any:
    from incidents.keys import deployment_keys

    settings.SIGNING_KEY_DIR = tmp_path / "keys"
    return deployment_keys()


@pytest.fixture
def filled_case(case: Any, camera: Any, ward_a: Any, media: Path, keys: Any) -> Any:
    """A case with a clip and a still cut from real recordings of CAM-1."""
    from incidents import services
    from incidents.models import Evidence

    started = (timezone.now() - dt.timedelta(hours=2)).replace(microsecond=0)
    record(camera, started=started, media_root=media)
    investigator = ward_a.users["investigator"]
    clip = services.add_clip(
        case=case,
        camera=camera,
        start=started + dt.timedelta(seconds=2),
        end=started + dt.timedelta(seconds=6),
        actor=investigator,
    )
    services.process_evidence(evidence_id=clip.pk)
    still = services.add_snapshot(case=case, camera=camera, at=started + dt.timedelta(seconds=3), actor=investigator)
    services.process_evidence(evidence_id=still.pk)
    assert set(case.evidence.values_list("status", flat=True)) == {Evidence.Status.READY}
    return case
