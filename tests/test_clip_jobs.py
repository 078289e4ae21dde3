"""Uploaded clips end to end: upload → worker → progress → results page; cancel; bad input; the
command-line tool; and a real Celery worker killed in the middle of a job (issue 3).

Footage is real (cuts of ``vtest.avi`` made with ffmpeg) and the pipeline is whatever
``analytics.vision`` picks here (the YOLO people model when installed, motion blobs otherwise).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from analytics.models import AnalysisSettings, ClipJob, Track
from analytics.pipeline.clips import VTEST
from tests.base.factories import camera_in
from tests.test_worker import ROOT, worker_env
from workers.clips import orphaned, requeue_orphans, run_job

WALKWAY = {
    "lines": [{"name": "walkway", "points": [[300, 340], [300, 170]], "forward": "east", "backward": "west"}],
    "rules": [{"type": "line_crossing", "lines": ["walkway"]}],
}


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=120)


def _patch_avi(data: bytes, *, fourcc: bytes | None = None, size: tuple[int, int] | None = None) -> bytes:
    """Rewrite an AVI's header: the codec's fourcc and/or the picture size (main and stream headers)."""
    out = bytearray(data)
    avih, strh, strf = out.find(b"avih"), out.find(b"strh"), out.find(b"strf")
    if size:
        struct.pack_into("<II", out, avih + 8 + 32, *size)
        struct.pack_into("<ii", out, strf + 8 + 4, *size)
    if fourcc:
        out[strh + 12 : strh + 16] = fourcc
        out[strf + 8 + 16 : strf + 8 + 20] = fourcc
    return bytes(out)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: Any) -> dict[str, Path]:
    """Good and bad videos, made once per module."""
    d = tmp_path_factory.mktemp("clips")
    # 10 s of vtest (100 frames, 50 analysed at 5 fps); 4 s for the jobs that only need to succeed.
    ffmpeg("-i", str(VTEST), "-frames:v", "100", "-c:v", "libx264", "-preset", "ultrafast", str(d / "walkers.mp4"))
    ffmpeg("-i", str(VTEST), "-frames:v", "40", "-c:v", "libx264", "-preset", "ultrafast", str(d / "short.mp4"))
    ffmpeg(
        "-i", str(VTEST), "-frames:v", "40", "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart",
        str(d / "faststart.mp4"),
    )  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=64x64:d=1:r=10", "-c:v", "rawvideo", "-pix_fmt", "bgr24", str(d / "raw64.avi"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=8x8:d=1:r=10", "-c:v", "rawvideo", "-pix_fmt", "bgr24", str(d / "tiny.avi"))
    raw = (d / "raw64.avi").read_bytes()
    (d / "text.mp4").write_bytes(b"This is a shopping list, not a video.\n" * 200)
    (d / "empty.mp4").write_bytes(b"")
    whole = (d / "short.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(whole[: len(whole) // 2])  # its index (moov) was at the end
    tail = (d / "faststart.mp4").read_bytes()
    (d / "truncated-faststart.mp4").write_bytes(tail[: len(tail) // 2])  # index first, frames cut off
    (d / "huge.avi").write_bytes(_patch_avi(raw, size=(20000, 20000)))
    (d / "codec.avi").write_bytes(_patch_avi(raw, fourcc=b"ZZZZ"))
    return {p.name: p for p in d.iterdir()}


# name → (error code, words of the message a user must see)
BAD_INPUT = {
    "text.mp4": ("not_video", "not a video"),
    "empty.mp4": ("empty", "0 bytes"),
    "truncated.mp4": ("not_video", "not a video"),
    "truncated-faststart.mp4": ("truncated", "truncated"),
    "huge.avi": ("resolution", "20000×20000"),
    "tiny.avi": ("resolution", "8×8"),
    "codec.avi": ("codec", "ZZZZ"),
}


def upload(name: str, path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, path.read_bytes(), content_type="video/mp4")


def job_with_file(ward_world: Any, path: Path, camera: Any = None) -> ClipJob:
    """A queued job as an upload leaves it (the API would refuse a 0-byte upload up front)."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    job = ClipJob(
        ward=ward_world.ward, camera=camera, filename=path.name, size=path.stat().st_size,
        recorded_at=timezone.now(), created_by=ward_world.users["operator"],
    )  # fmt: skip
    job.file.save("clip.bin", ContentFile(path.read_bytes()), save=False)
    job.save()
    return job


def rows_of(job: ClipJob) -> dict[str, Any]:
    job.refresh_from_db()
    return {
        "tracks": Counter(Track.objects.filter(job=job).values_list("cls", flat=True)),
        "keys": sorted(Track.objects.filter(job=job).values_list("key", flat=True)),
        # Alert keys name the job ("job:12:<rule>:<frame>"): compare what follows.
        "alerts": sorted((cid.split(":", 2)[2], n) for cid, n in job.alerts.values_list("client_id", "count")),
        "key_frames": len(job.summary.get("key_frames", [])),
        "frames_analysed": job.summary.get("frames_analysed"),
    }


# --- in-process: the task, the page, the API ---------------------------------------------------


@pytest.mark.django_db
def test_uploaded_clip_is_analysed_and_its_page_shows_the_results(
    clips: dict[str, Path], ward_a: Any, ward_b: Any, api: Any, client: Any, english: Any
) -> None:
    camera = camera_in(ward_a.ward, code="CLIP-1")
    AnalysisSettings.objects.create(ward=ward_a.ward, camera=camera, **WALKWAY)
    operator = api(ward_a.users["operator"])
    response = operator.post(
        "/api/clip-jobs/",
        {"file": upload("walkers.mp4", clips["walkers.mp4"]), "camera": "CLIP-1", "recorded_at": "2026-11-01T08:00:00+07:00"},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["status"] == "queued" and created["camera"] == camera.pk and created["filename"] == "walkers.mp4"
    assert created["links"]["page"] == f"/clips/{created['id']}/"

    assert run_job(created["id"]) == "done"
    job = operator.get(f"/api/clip-jobs/{created['id']}/").json()
    assert job["status"] == "done" and job["progress"] == 100 and job["error"] == ""
    summary = job["summary"]
    assert job["model"] and summary["model"] == job["model"]
    assert summary["frames_analysed"] == 50 and summary["frames_read"] == 100
    assert summary["tracks_by_class"].get("person", 0) >= 3, summary["tracks_by_class"]
    assert summary["key_frames"] and all(f["url"].startswith(f"/clips/{job['id']}/frames/") for f in summary["key_frames"])
    assert "worker" not in summary
    assert Track.objects.filter(job_id=job["id"], camera=camera).count() == summary["tracks"]

    client.force_login(ward_a.users["operator"])
    page = client.get(f"/clips/{job['id']}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert job["model"] in html and 'id="tracks-by-class"' in html and 'id="key-frames"' in html
    assert 'id="clip-timeline"' in html and "08:00:00" in html  # the footage's start, Ho Chi Minh City time
    if summary["line_counts"]:
        assert 'id="line-counts"' in html and "walkway" in html
    frame = client.get(summary["key_frames"][0]["url"])
    assert frame.status_code == 200 and frame["Content-Type"] == "image/jpeg"
    assert b"".join(frame.streaming_content)[:2] == b"\xff\xd8"

    # Another ward: not found on the API, the page and the key frames.
    outsider = ward_b.users["admin"]
    assert api(outsider).get(f"/api/clip-jobs/{job['id']}/").status_code == 404
    assert api(outsider).post(f"/api/clip-jobs/{job['id']}/cancel/").status_code == 404
    client.force_login(outsider)
    assert client.get(f"/clips/{job['id']}/").status_code == 404
    assert client.get(summary["key_frames"][0]["url"]).status_code == 404

    # A re-delivered message for a finished job does nothing.
    before = rows_of(ClipJob.objects.get(pk=job["id"]))
    assert run_job(job["id"]) == "skipped"
    assert rows_of(ClipJob.objects.get(pk=job["id"])) == before


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_bad_input_fails_with_a_reason_that_says_what_to_fix(
    clips: dict[str, Path], name: str, ward_a: Any, api: Any, english: Any
) -> None:
    code, words = BAD_INPUT[name]
    job = job_with_file(ward_a, clips[name])
    assert run_job(job.pk) == "failed"
    shown = api(ward_a.users["operator"]).get(f"/api/clip-jobs/{job.pk}/").json()
    assert shown["status"] == "failed" and shown["error_code"] == code, shown
    assert words in shown["error"]
    assert any(fix in shown["error"] for fix in ("Upload", "upload", "Convert", "Export")), "it says what to do"
    assert "/" not in shown["error"], "no server path in the message"


@pytest.mark.django_db
def test_empty_or_oversized_uploads_are_refused_and_nothing_is_saved(
    clips: dict[str, Path], ward_a: Any, api: Any, client: Any, settings: Any, english: Any
) -> None:
    from django.core.files.storage import default_storage

    operator = api(ward_a.users["operator"])
    response = operator.post("/api/clip-jobs/", {"file": upload("empty.mp4", clips["empty.mp4"])}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()

    settings.CLIP_MAX_BYTES = 100_000
    folder = f"clips/{ward_a.ward.pk}"
    before = set(default_storage.listdir(folder)[1]) if default_storage.exists(folder) else set()
    response = operator.post("/api/clip-jobs/", {"file": upload("walkers.mp4", clips["walkers.mp4"])}, format="multipart")
    assert response.status_code == 413
    message = response.json()["file"][0]
    assert "97.7\xa0KB" in message and "shorter parts" in message
    client.force_login(ward_a.users["operator"])
    page = client.post("/clips/", {"file": upload("walkers.mp4", clips["walkers.mp4"])})
    assert page.status_code == 413 and "shorter parts" in page.content.decode()
    assert not ClipJob.objects.exists()
    after = set(default_storage.listdir(folder)[1]) if default_storage.exists(folder) else set()
    assert after == before


@pytest.mark.django_db
def test_officials_cannot_upload_and_others_camera_is_refused(clips: dict[str, Path], ward_a: Any, ward_b: Any, api: Any) -> None:
    theirs = camera_in(ward_b.ward, code="THEIRS-1")
    response = api(ward_a.users["official"]).post(
        "/api/clip-jobs/", {"file": upload("a.mp4", clips["short.mp4"])}, format="multipart"
    )
    assert response.status_code == 403
    response = api(ward_a.users["operator"]).post(
        "/api/clip-jobs/", {"file": upload("a.mp4", clips["short.mp4"]), "camera": theirs.code}, format="multipart"
    )
    assert response.status_code == 400 and "camera" in response.json()
    assert not ClipJob.objects.exists()


@pytest.mark.django_db
def test_upload_page_queues_a_job_and_lists_it(clips: dict[str, Path], ward_a: Any, client: Any) -> None:
    camera_in(ward_a.ward, code="PAGE-1")
    client.force_login(ward_a.users["investigator"])
    form = client.get("/clips/")
    assert form.status_code == 200 and "PAGE-1" in form.content.decode()
    response = client.post("/clips/", {"file": upload("short.mp4", clips["short.mp4"]), "recorded_at": "2026-11-01T07:30:00"})
    job = ClipJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/clips/{job.pk}/"
    assert job.recorded_at.isoformat() == "2026-11-01T00:30:00+00:00"  # entered in Ho Chi Minh City time
    page = client.get(response["Location"]).content.decode()
    assert 'id="clip-progress"' in page and 'id="clip-cancel"' in page
    assert "short.mp4" in client.get("/clips/").content.decode()
    client.force_login(ward_a.users["official"])
    assert client.get("/clips/").status_code == 403


@pytest.mark.django_db
def test_cancelling_a_queued_job_stops_it_before_it_starts(clips: dict[str, Path], ward_a: Any, api: Any) -> None:
    job = job_with_file(ward_a, clips["short.mp4"])
    response = api(ward_a.users["operator"]).post(f"/api/clip-jobs/{job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert run_job(job.pk) == "skipped"
    assert not Track.objects.filter(job=job).exists()


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_running_job_stops_it_and_keeps_what_it_found(
    clips: dict[str, Path], ward_a: Any, api: Any, settings: Any
) -> None:
    settings.CLIP_PROGRESS_SECONDS = 0.2
    settings.CLIP_FLUSH_SECONDS = 0.2
    job = job_with_file(ward_a, clips["walkers.mp4"])
    outcome: list[str] = []

    def run_in_thread() -> None:
        try:
            outcome.append(run_job(job.pk))
        finally:
            connection.close()  # this thread's own connection, or the test database cannot be dropped

    runner = threading.Thread(target=run_in_thread)
    runner.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not ClipJob.objects.filter(pk=job.pk, progress__gt=0).exists():
        time.sleep(0.05)
    response = api(ward_a.users["operator"]).post(f"/api/clip-jobs/{job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["cancel_requested"]
    runner.join(60)
    job.refresh_from_db()
    assert outcome == ["cancelled"] and job.status == "cancelled"
    assert job.summary["partial"] and 0 < job.summary["frames_analysed"] < 50


@pytest.mark.django_db
def test_job_of_a_dead_worker_is_queued_again_and_a_live_workers_job_is_left_alone(
    clips: dict[str, Path], ward_a: Any, monkeypatch: Any
) -> None:
    job = job_with_file(ward_a, clips["short.mp4"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job.status = ClipJob.Status.RUNNING
    job.worker, job.heartbeat_at = f"celery@here:{dead.pid}", timezone.now()
    job.save()
    assert orphaned(job, "celery@here") and not orphaned(job, "celery@elsewhere")
    job.worker, job.heartbeat_at = f"celery@here:{os.getppid()}", timezone.now()  # alive
    job.save()
    assert not orphaned(job, "celery@here")
    assert run_job(job.pk, node="celery@here") == "skipped", "a re-delivered message while a live worker runs it"
    job.worker = f"celery@elsewhere:{os.getppid()}"
    job.heartbeat_at = timezone.now() - dt.timedelta(hours=1)  # silent for an hour
    job.save()
    assert orphaned(job, "celery@here")
    sent: list[int] = []
    monkeypatch.setattr("workers.clips.analyse_clip.delay", sent.append)  # the broker is the edge here
    assert requeue_orphans(node="celery@here") == 1
    job.refresh_from_db()
    assert job.status == "queued" and sent == [job.pk]


# --- the command-line tool -------------------------------------------------------------------


@pytest.mark.django_db
def test_analyze_clip_prints_a_json_summary_and_saves_with_a_camera(clips: dict[str, Path], ward_a: Any, capsys: Any) -> None:
    call_command("analyze_clip", str(clips["short.mp4"]))
    printed = json.loads(capsys.readouterr().out)
    assert printed["model"] and printed["frames_read"] == 40 and printed["frames_analysed"] == 20
    assert printed["job"] is None and isinstance(printed["tracks_by_class"], dict)
    assert {"plate_reads", "alerts", "wall_s", "realtime", "frames_skipped", "line_counts"} <= set(printed)
    assert not ClipJob.objects.exists()

    camera_in(ward_a.ward, code="CLI-1")
    out = io.StringIO()
    call_command("analyze_clip", str(clips["short.mp4"]), "--camera", "CLI-1", "--fps", "2.5", stdout=out)
    saved = json.loads(out.getvalue())
    job = ClipJob.objects.get(pk=saved["job"])
    assert job.status == "done" and job.ward == ward_a.ward and job.camera.code == "CLI-1"
    assert saved["frames_analysed"] == 10 and saved["model"] == job.model


def test_analyze_clip_refuses_bad_input_with_the_reason_on_stderr(clips: dict[str, Path]) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "analyze_clip", str(clips["codec.avi"])],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1 and done.stdout == ""
    assert "ZZZZ" in done.stderr and "H.264" in done.stderr


# --- a real Celery worker ----------------------------------------------------------------------


def start_worker() -> subprocess.Popen[str]:
    from portal.celery import app

    app.control.purge()  # messages other tests left in this broker are not ours to run
    env = worker_env() | {"CLIP_FLUSH_SECONDS": "0.5", "CLIP_PROGRESS_SECONDS": "0.25"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "-Q", "default", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.stdout.read() if proc.stdout else ""


def wait_for(check: Any, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc.poll() is not None:
            pytest.fail("worker exited:\n" + stop(proc)[-4000:])
        time.sleep(0.05)
    pytest.fail("timed out; worker said:\n" + stop(proc)[-4000:])


def final(job_id: int) -> bool:
    return ClipJob.objects.filter(pk=job_id, status__in=ClipJob.FINISHED).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_bad_clips_fail_on_a_real_worker_that_then_analyses_a_good_one(
    clips: dict[str, Path], ward_a: Any, api: Any, english: Any
) -> None:
    worker = start_worker()
    try:
        operator = api(ward_a.users["operator"])
        # An empty upload is refused at once; a cut-off file is slow to find out (it is decoded to where it stops).
        names = [n for n in sorted(BAD_INPUT) if n not in ("empty.mp4", "truncated-faststart.mp4")] + ["short.mp4"]
        ids = []
        for name in names:
            response = operator.post("/api/clip-jobs/", {"file": upload(name, clips[name])}, format="multipart")
            assert response.status_code == 201, response.json()
            ids.append(response.json()["id"])
        wait_for(lambda: all(final(pk) for pk in ids), worker)
        for name, pk in zip(names, ids, strict=True):
            job = operator.get(f"/api/clip-jobs/{pk}/").json()
            if name == "short.mp4":
                assert job["status"] == "done" and job["summary"]["frames_analysed"] == 20, job
            else:
                assert (job["status"], job["error_code"]) == ("failed", BAD_INPUT[name][0]), job
                assert BAD_INPUT[name][1] in job["error"]
        assert worker.poll() is None, "the worker lives on"
    finally:
        stop(worker)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_job_completes_it_once_after_restart(clips: dict[str, Path], ward_a: Any, api: Any) -> None:
    camera = camera_in(ward_a.ward, code="KILL-1")
    camera.analysis_fps = 2.5  # 25 frames a run: long enough to be killed in, short enough to run three times
    camera.save(update_fields=["analysis_fps"])
    AnalysisSettings.objects.create(ward=ward_a.ward, camera=camera, **WALKWAY)
    operator = api(ward_a.users["operator"])

    def post() -> int:
        data = {
            "file": upload("walkers.mp4", clips["walkers.mp4"]),
            "camera": camera.pk,
            "recorded_at": "2026-11-01T08:00:00+07:00",
        }
        response = operator.post("/api/clip-jobs/", data, format="multipart")
        assert response.status_code == 201, response.json()
        return int(response.json()["id"])

    first = start_worker()
    try:
        reference = post()  # the same clip analysed without interruption
        wait_for(lambda: final(reference), first)
        interrupted = post()
        wait_for(lambda: Track.objects.filter(job_id=interrupted).exists(), first)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        stop(first)
    job = ClipJob.objects.get(pk=interrupted)
    assert job.status == "running" and job.progress < 100 and job.attempts == 1
    written_before = dict(Track.objects.filter(job=job).values_list("key", "pk"))

    second = start_worker()
    try:
        wait_for(lambda: final(interrupted), second)
    finally:
        log = stop(second)
    job.refresh_from_db()
    assert job.status == "done" and job.attempts == 2, (job.status, job.error, log[-3000:])
    assert "queued again 1 clip job" in log
    expected, got = rows_of(ClipJob.objects.get(pk=reference)), rows_of(job)
    assert got == expected and sum(got["tracks"].values()) >= 3
    # The rows the killed attempt wrote were overwritten in place, not deleted and added again.
    after = dict(Track.objects.filter(job=job).values_list("key", "pk"))
    assert all(after[key] == pk for key, pk in written_before.items())
