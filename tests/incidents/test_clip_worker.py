"""A clip asked for through the API is cut by a real Celery worker process from real recordings."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from incidents.models import Evidence
from tests.base.factories import camera_in
from tests.incidents.conftest import record
from tests.test_clip_jobs import start_worker, stop


@pytest.mark.worker
def test_worker_cuts_the_clip_asked_through_the_api(
    transactional_db: Any, ward_a: Any, api: Any, settings: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from incidents.services import create_case

    media = tmp_path / "media"
    media.mkdir()
    settings.MEDIA_ROOT = media
    monkeypatch.setenv("MEDIA_ROOT", str(media))  # the worker's settings read it from its environment
    camera = camera_in(ward_a.ward, code="W-CAM")
    started = (timezone.now() - dt.timedelta(minutes=10)).replace(microsecond=0)
    segments = record(camera, started=started, media_root=media)
    user = ward_a.users["investigator"]
    case = create_case(ward=ward_a.ward, actor=user, title="Worker case", occurred_at=started)
    worker = start_worker()
    try:
        start, end = started + dt.timedelta(seconds=2.5), started + dt.timedelta(seconds=6)
        response = api(user).post(
            f"/api/cases/{case.pk}/evidence/",
            {"camera": camera.pk, "start": start.isoformat(), "end": end.isoformat(), "reason": "Route of 51F-123.45"},
            format="json",
        )
        assert response.status_code == 201, response.json()
        deadline = time.monotonic() + 90
        clip = Evidence.objects.get(pk=response.json()["id"])
        while clip.status == Evidence.Status.PENDING and time.monotonic() < deadline:
            assert worker.poll() is None, stop(worker)
            time.sleep(0.3)
            clip.refresh_from_db()
        assert clip.status == Evidence.Status.READY, (clip.error, stop(worker))
    finally:
        log = stop(worker)
    assert hashlib.sha256((media / clip.file.name).read_bytes()).hexdigest() == clip.sha256, log
    assert clip.true_start is not None and start - clip.true_start <= dt.timedelta(seconds=1)
    assert sorted(clip.segments.values_list("pk", flat=True)) == [segments[0].pk, segments[1].pk]
    assert list(case.custody.order_by("seq").values_list("action", flat=True)) == ["requested", "intake"]
