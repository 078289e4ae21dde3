"""What a pipeline run leaves in the database: rows keyed so that a second run of the same footage
(a retried job) replaces the first run's rows instead of adding to them (issue 3: no duplicates)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from analytics.models import Alert, ClipJob, Track
from analytics.pipeline.clips import VTEST
from analytics.pipeline.config import PipelineConfig
from analytics.pipeline.runner import Pipeline
from analytics.pipeline.sources.file import FileSource
from analytics.results import ResultWriter
from tests.base.factories import camera_in

pytestmark = pytest.mark.django_db

CONFIG = PipelineConfig.model_validate(
    {
        "lines": [{"name": "walkway", "points": [[300, 340], [300, 170]], "forward": "east", "backward": "west"}],
        "rules": [{"type": "line_crossing", "lines": ["walkway"]}],
    }
)


def _job(ward_world: Any, camera: Any) -> ClipJob:
    return ClipJob.objects.create(
        ward=ward_world.ward,
        camera=camera,
        file="clips/x.bin",
        filename="vtest.avi",
        recorded_at=timezone.make_aware(dt.datetime(2026, 11, 1, 8, 0)),
        created_by=ward_world.users["operator"],
    )


def _run(job: ClipJob) -> ResultWriter:
    pipeline = Pipeline(CONFIG, FileSource(str(VTEST), CONFIG.analysis_fps))
    writer = ResultWriter(
        ward_id=job.ward_id,
        source=f"job:{job.pk}",
        origin=job.recorded_at,
        config=CONFIG,
        model=pipeline.detector.name,
        camera=job.camera,
        job=job,
    )
    for i, result in enumerate(pipeline.stream(max_frames=150)):
        writer.add(result)
        if i % 50 == 49:
            writer.flush()
    writer.flush(final=True)
    return writer


def test_a_second_run_of_the_same_clip_adds_no_rows(ward_a: Any) -> None:
    camera = camera_in(ward_a.ward)
    job = _job(ward_a, camera)
    first = _run(job)
    tracks = list(Track.objects.filter(job=job).values_list("key", "cls", "first_seen", "last_seen").order_by("key"))
    alerts = list(Alert.objects.filter(job=job).values_list("client_id", "count").order_by("client_id"))
    assert len(tracks) >= 5, "walkers of vtest.avi are tracked"
    assert alerts and all(count >= 1 for _, count in alerts), "the walkway line is crossed"
    assert first.key_frames and first.timeline()
    # Times are the clip's start plus footage seconds: 150 frames at 5 fps of a 10-fps clip is 30 s.
    assert all(job.recorded_at <= t[2] <= job.recorded_at + dt.timedelta(seconds=31) for t in tracks)

    _run(job)  # the retry of a job whose worker died
    assert list(Track.objects.filter(job=job).values_list("key", "cls", "first_seen", "last_seen").order_by("key")) == tracks
    assert list(Alert.objects.filter(job=job).values_list("client_id", "count").order_by("client_id")) == alerts


def test_clip_alerts_are_not_pushed_live_and_carry_the_model(ward_a: Any, django_capture_on_commit_callbacks: Any) -> None:
    camera = camera_in(ward_a.ward)
    job = _job(ward_a, camera)
    with django_capture_on_commit_callbacks() as callbacks:
        _run(job)
    assert callbacks == [], "a clip's hits are shown on the clip, never pushed to the duty officers"
    alert = Alert.objects.filter(job=job).first()
    assert alert is not None and alert.details["model"] == "motion-blobs" and alert.snapshot


def test_clip_alerts_stay_out_of_the_live_lists_unless_asked_for(ward_a: Any, api: Any) -> None:
    camera = camera_in(ward_a.ward)
    job = _job(ward_a, camera)
    _run(job)
    clip_alerts = set(Alert.objects.filter(job=job).values_list("pk", flat=True))
    live = Alert.objects.create(
        ward=ward_a.ward, camera=camera, type="manual", severity=2, raised_at=job.recorded_at, last_seen_at=job.recorded_at
    )
    client = api(ward_a.users["operator"])

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/alerts/?page_size=200{query}")
        assert response.status_code == 200, response.content
        return {a["id"] for a in response.json()["results"]}

    assert ids("") == {live.pk}, "the operations room and the wall list live alerts only"
    assert ids(f"&job={job.pk}") == clip_alerts
    assert ids("&source=clip") == clip_alerts and ids("&source=all") == clip_alerts | {live.pk}
    detail = client.get(f"/api/alerts/{min(clip_alerts)}/").json()
    assert detail["job"] == job.pk and detail["details"]["rule"] == "line_crossing"
