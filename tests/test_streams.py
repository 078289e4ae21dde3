"""Live streams on the worker side, against a real RTSP camera (GStreamer serving ``vtest.avi``).

- A supervisor records playable segments and produces tracks; the camera stopped → offline with one
  alert; started again → online by itself with one alert. Credentials reach the camera, never a log.
- A worker killed with SIGKILL: another worker takes its camera over within 30 s (the lease), and the
  dead worker's ffmpeg does not outlive it.
- Retention deletes the oldest first, never a locked segment, file and row together.
- Hostile URLs are refused before ffmpeg or OpenCV see them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from analytics.models import Alert, AlertType, Track
from analytics.pipeline.base import SourceError
from analytics.pipeline.sources.stream import StreamSource
from cameras.models import Camera, RecordingSegment
from tests.base.analysis import settings_in
from tests.base.rtsp import ROOT, RtspServer, available
from tests.test_worker import worker_env
from workers.models import StreamLease
from workers.recording import apply_retention, camera_url
from workers.streams import StreamSupervisor, take_lease

USER, PASSWORD = "operator", "s3cr:t@cam"


@pytest.fixture(scope="module")
def rtsp() -> Iterator[RtspServer]:
    reason = available()
    if reason:
        raise RuntimeError(f"the RTSP test camera cannot run: {reason}")
    with RtspServer(user=USER, password=PASSWORD) as server:
        yield server


@pytest.fixture
def live_settings(settings: Any, tmp_path: Path) -> Any:
    settings.MEDIA_ROOT = tmp_path
    settings.VISION_DEFAULT_MODELS = []  # motion blobs: the stream path, not the model, is under test
    settings.STREAM_HEARTBEAT_SECONDS = 0.5
    settings.STREAM_OFFLINE_SECONDS = 3
    settings.STREAM_BACKOFF_MAX_SECONDS = 1
    return settings


def streaming_camera(ward: Any, url: str, **analysis: Any) -> Camera:
    values = {"live": True, "record": True, "segment_seconds": 2, **analysis}
    camera = settings_in(ward, **values).camera
    Camera.objects.filter(pk=camera.pk).update(main_stream_url=url, stream_username=USER, stream_password=PASSWORD)
    camera.refresh_from_db()
    return camera


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def probe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name,width,height", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


@pytest.mark.worker
def test_supervisor_records_tracks_and_follows_the_camera_offline_and_back(
    transactional_db: Any, ward_a: Any, rtsp: RtspServer, live_settings: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    camera = streaming_camera(ward_a.ward, rtsp.url)
    supervisor = StreamSupervisor(camera.pk)
    outcome: list[str] = []
    thread = threading.Thread(target=lambda: outcome.append(supervisor.run()))
    thread.start()
    try:
        segments = wait_for("two recorded segments", lambda: RecordingSegment.objects.filter(camera=camera).count() >= 2, 30)
        wait_for("tracks", lambda: Track.objects.filter(camera=camera, source__startswith="live:").exists(), 20)
        lease = StreamLease.objects.get(camera=camera)
        assert lease.connected and lease.recording and lease.fps > 0 and lease.holder
        assert 0 <= lease.lag_s < 1
        assert (Path(live_settings.MEDIA_ROOT) / "live" / f"{camera.pk}.jpg").stat().st_size > 10_000

        for segment in RecordingSegment.objects.filter(camera=camera):
            path = Path(live_settings.MEDIA_ROOT) / segment.path
            info = probe(path)
            assert info["streams"][0]["codec_name"] == "h264" and info["streams"][0]["width"] == 768
            assert 1.0 <= float(info["format"]["duration"]) <= 4.0
            assert segment.size == path.stat().st_size and segment.ward_id == camera.ward_id
            assert segment.started_at < segment.ended_at <= timezone.now()
            # Evidence clips are timed from these rows: the row spans exactly what the file holds
            # (the first file also holds the frames buffered before it was opened).
            span = (segment.ended_at - segment.started_at).total_seconds()
            assert abs(span - float(info["format"]["duration"])) < 0.05

        rtsp.stop()  # the camera loses power
        wait_for("offline", lambda: Camera.objects.get(pk=camera.pk).status == Camera.Status.OFFLINE, 20)
        assert Alert.objects.filter(camera=camera, type=AlertType.CAMERA_OFFLINE).count() == 1
        time.sleep(2)  # still down: no second alert
        assert Alert.objects.filter(camera=camera, type=AlertType.CAMERA_OFFLINE).count() == 1
        assert not StreamLease.objects.get(camera=camera).connected

        rtsp.start()  # back: nobody touches the supervisor
        wait_for("online", lambda: Camera.objects.get(pk=camera.pk).status == Camera.Status.ONLINE, 20)
        assert Alert.objects.filter(camera=camera, type=AlertType.CAMERA_ONLINE).count() == 1
        recorded = segments and RecordingSegment.objects.filter(camera=camera).count()
        wait_for("recording again", lambda: RecordingSegment.objects.filter(camera=camera).count() > recorded, 20)
    finally:
        supervisor.stop.set()
        thread.join(timeout=30)
        if rtsp.proc is None:
            rtsp.start()
    assert outcome == ["stopped"]
    lease = StreamLease.objects.get(camera=camera)
    assert lease.session == "" and not lease.connected  # released at once for the next holder
    assert PASSWORD not in lease.error and "s3cr" not in caplog.text


def _ffmpeg_with(tag: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if args and args[0].endswith(b"ffmpeg") and any(tag.encode() in a for a in args):
                found.append(int(entry.name))
    return found


@pytest.mark.worker
def test_a_killed_workers_camera_is_taken_over_within_30_seconds(
    transactional_db: Any, ward_a: Any, rtsp: RtspServer, settings: Any, tmp_path: Path
) -> None:
    from workers.tasks import assign_streams

    settings.MEDIA_ROOT = tmp_path
    camera = streaming_camera(ward_a.ward, rtsp.url, segment_seconds=10)
    env = worker_env() | {"MEDIA_ROOT": str(tmp_path), "MATTHAN_VISION_DEFAULT_MODELS": ""}
    logs = [tmp_path / f"worker{i}.log" for i in (1, 2)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=threads", "--concurrency=2", "-Q", "streams",
             "-n", f"streams{i}@%h", "--loglevel=INFO"],
            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        )
        for i, log in enumerate(logs, 1)
    ]  # fmt: skip
    pids = {w.pid for w in workers}

    def held_by() -> StreamLease | None:
        lease = StreamLease.objects.filter(camera=camera).first()
        fresh = lease and lease.session and lease.last_frame_at and lease.connected
        return lease if fresh and int(lease.holder.rsplit(":", 1)[1]) in pids else None

    def beat_until(what: str, check: Callable[[], Any], timeout: float) -> Any:
        """Wait, running the assign round every STREAM_ASSIGN_SECONDS as Celery beat would."""
        started, next_round = time.monotonic(), 0.0
        while not (value := check()):
            if time.monotonic() - started > timeout:
                tails = "\n".join(log.read_text()[-3000:] for log in logs)
                pytest.fail(f"timed out after {timeout} s waiting for {what}; workers said:\n{tails}")
            if time.monotonic() >= next_round:
                assign_streams()
                next_round = time.monotonic() + settings.STREAM_ASSIGN_SECONDS
            time.sleep(0.25)
        return value

    try:
        t0 = time.monotonic()
        first = beat_until("a worker to take the camera", held_by, 60)
        print(f"taken in {time.monotonic() - t0:.1f} s")
        wait_for("recording", lambda: StreamLease.objects.get(camera=camera).recording, 20)
        victim = int(first.holder.rsplit(":", 1)[1])
        assert _ffmpeg_with(first.session[:8])
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        pids.discard(victim)
        taken = beat_until(
            "another worker to take the camera over",
            lambda: (lease := held_by()) and lease.session != first.session and lease,
            30,
        )
        assert taken.holder != first.holder
        assert not _ffmpeg_with(first.session[:8]), "the dead worker's recorder outlived it"
        print(f"taken over in {time.monotonic() - killed_at:.1f} s")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)  # warm shutdown: supervisors stop, the worker exits
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                pytest.fail("a streams worker did not stop on SIGTERM")


# --- leases -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_lease_is_taken_once_and_again_only_when_expired(ward_a: Any, settings: Any) -> None:
    camera = settings_in(ward_a.ward, live=True).camera
    assert take_lease(camera.pk, holder="w1", session="s1")
    assert not take_lease(camera.pk, holder="w2", session="s2")
    StreamLease.objects.filter(camera=camera).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert take_lease(camera.pk, holder="w2", session="s2")
    assert StreamLease.objects.get(camera=camera).holder == "w2"


# --- retention --------------------------------------------------------------------------------


def _segment(camera: Camera, media: Path, age: dt.timedelta, *, size: int = 1000, locked: bool = False) -> RecordingSegment:
    start = timezone.now() - age
    path = f"recordings/{camera.pk}/{start:%Y%m%d-%H%M%S}.mp4"
    (media / path).parent.mkdir(parents=True, exist_ok=True)
    (media / path).write_bytes(b"\0" * size)
    return RecordingSegment.objects.create(
        ward=camera.ward,
        camera=camera,
        path=path,
        started_at=start,
        ended_at=start + dt.timedelta(minutes=1),
        size=size,
        locked=locked,
    )


@pytest.mark.django_db
def test_retention_deletes_expired_footage_oldest_first_and_never_evidence(ward_a: Any, tmp_path: Path) -> None:
    short = settings_in(ward_a.ward).camera
    long = settings_in(ward_a.ward).camera
    Camera.objects.filter(pk=short.pk).update(retention_days=1)
    Camera.objects.filter(pk=long.pk).update(retention_days=7)
    day = dt.timedelta(days=1)
    old = _segment(short, tmp_path, 3 * day)
    held = _segment(short, tmp_path, 5 * day, locked=True)
    fresh = _segment(short, tmp_path, dt.timedelta(hours=2))
    kept_by_policy = _segment(long, tmp_path, 3 * day)
    expired_long = _segment(long, tmp_path, 8 * day)

    report = apply_retention(media_root=tmp_path, max_bytes=0)

    assert report.deleted == 2 and report.kept_locked == 1 and report.freed_bytes == 2000
    remaining = set(RecordingSegment.objects.values_list("pk", flat=True))
    assert remaining == {held.pk, fresh.pk, kept_by_policy.pk}
    for segment, exists in ((old, False), (expired_long, False), (held, True), (fresh, True), (kept_by_policy, True)):
        assert (tmp_path / segment.path).exists() is exists


@pytest.mark.django_db
def test_disk_budget_deletes_the_oldest_of_all_cameras_first_but_not_evidence(ward_a: Any, tmp_path: Path) -> None:
    a = settings_in(ward_a.ward).camera
    b = settings_in(ward_a.ward).camera
    hour = dt.timedelta(hours=1)
    oldest_locked = _segment(a, tmp_path, 10 * hour, locked=True)
    oldest = _segment(b, tmp_path, 9 * hour)
    second = _segment(a, tmp_path, 8 * hour)
    newer = [_segment(b, tmp_path, 7 * hour), _segment(a, tmp_path, 6 * hour)]

    report = apply_retention(media_root=tmp_path, max_bytes=3000)  # 5 × 1000 bytes on disk

    assert report.deleted == 2
    assert set(RecordingSegment.objects.values_list("pk", flat=True)) == {oldest_locked.pk, *(s.pk for s in newer)}
    assert not (tmp_path / oldest.path).exists() and not (tmp_path / second.path).exists()
    assert (tmp_path / oldest_locked.path).exists()
    # only evidence left above the budget: it stays
    assert apply_retention(media_root=tmp_path, max_bytes=1).deleted == 2
    assert list(RecordingSegment.objects.values_list("pk", flat=True)) == [oldest_locked.pk]


# --- hostile URLs -----------------------------------------------------------------------------

HOSTILE = [
    "file:/etc/passwd",
    "file:///etc/passwd",
    "concat:/etc/passwd|/etc/hosts",
    "subfile:,start,0,end,100,:/etc/passwd",
    "pipe:0",
    "/etc/passwd",
    "tcp://127.0.0.1:22",
    "rtsp://cam/a b",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_urls_are_refused_before_any_process_or_decoder(url: str) -> None:
    with pytest.raises(SourceError):
        camera_url(url, "user", "password")
    with pytest.raises(SourceError):
        StreamSource(url)


@pytest.mark.django_db
def test_supervisor_of_a_camera_with_a_hostile_url_spawns_nothing(
    ward_a: Any, monkeypatch: Any, settings: Any, tmp_path: Path
) -> None:
    import cv2

    settings.MEDIA_ROOT = tmp_path
    spawned: list[Any] = []
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: spawned.append(a) or pytest.fail("a process was started"))
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a, **k: spawned.append(a) or pytest.fail("OpenCV opened a URL"))
    camera = streaming_camera(ward_a.ward, "rtsp://127.0.0.1:1/cam")
    for url in ("concat:/etc/passwd|/etc/hosts", "file:/etc/passwd"):
        Camera.objects.filter(pk=camera.pk).update(main_stream_url=url)  # written behind the validators' back
        assert StreamSupervisor(camera.pk).run() == "bad url"
        lease = StreamLease.objects.get(camera=camera)
        assert "not allowed" in lease.error and not lease.session and not lease.connected
    assert spawned == []
    assert not (tmp_path / "recordings").exists()
