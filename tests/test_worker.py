"""A real Celery worker process runs a camera import posted to the API; jobs are safe to run twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from cameras.models import Camera, CameraImport
from cameras.services import run_import

ROOT = Path(__file__).resolve().parent.parent


def csv_for(ward: Any, codes: list[str]) -> bytes:
    c = ward.boundary.centroid
    rows = "".join(f"{code},Camera {code},{c.x + i * 1e-4},{c.y}\n" for i, code in enumerate(codes))
    return ("code,name,longitude,latitude\n" + rows).encode()


def worker_env() -> dict[str, str]:
    """The worker must use the test database and the same broker as this process."""
    env = dict(os.environ)
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        env["SQLITE_PATH"] = str(db["NAME"])
    env["MATTHAN_VAR_DIR"] = str(settings.VAR_DIR)
    env["CELERY_TASK_ALWAYS_EAGER"] = "0"
    return env


@pytest.fixture
def celery_worker_process(transactional_db: Any) -> Any:
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "-Q", "default,alerts", "--loglevel=INFO"],
        cwd=ROOT,
        env=worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield proc
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.worker
def test_worker_imports_a_file_posted_to_the_api(celery_worker_process: Any, ward_a: Any, api: Any) -> None:
    client = api(ward_a.users["admin"])
    data = csv_for(ward_a.ward, ["W-1", "W-2", "W-3"])
    response = client.post(
        "/api/camera-imports/",
        {"file": SimpleUploadedFile("legacy.csv", data, content_type="text/csv"), "dry_run": "false"},
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    job_id = response.json()["id"]
    deadline = time.monotonic() + 60
    status = "queued"
    while time.monotonic() < deadline:
        status = client.get(f"/api/camera-imports/{job_id}/").json()["status"]
        if status in ("done", "rejected", "failed"):
            break
        if celery_worker_process.poll() is not None:
            pytest.fail("worker exited:\n" + (celery_worker_process.stdout.read() if celery_worker_process.stdout else ""))
        time.sleep(0.3)
    assert status == "done", status
    job = client.get(f"/api/camera-imports/{job_id}/").json()
    assert job["report"]["saved"] == 3 and job["report"]["errors"] == []
    assert set(Camera.objects.filter(ward=ward_a.ward).values_list("code", flat=True)) == {"W-1", "W-2", "W-3"}


@pytest.mark.django_db
def test_import_job_runs_once_even_when_delivered_twice(ward_a: Any) -> None:
    from cameras.services import queue_import

    job = queue_import(
        ward=ward_a.ward, actor=ward_a.users["admin"], filename="x.csv", data=csv_for(ward_a.ward, ["T-1", "T-2"]), dry_run=False
    )
    assert run_import(import_id=job.pk) == "done"
    assert run_import(import_id=job.pk) == "skipped"
    assert Camera.objects.filter(ward=ward_a.ward).count() == 2


@pytest.mark.django_db
def test_job_left_running_by_a_dead_worker_is_run_again_from_the_start(ward_a: Any) -> None:
    from cameras.services import queue_import

    job = queue_import(
        ward=ward_a.ward, actor=ward_a.users["admin"], filename="x.csv", data=csv_for(ward_a.ward, ["R-1"]), dry_run=False
    )
    CameraImport.objects.filter(pk=job.pk).update(status=CameraImport.Status.RUNNING)  # the worker died here
    assert run_import(import_id=job.pk) == "done"
    assert Camera.objects.filter(ward=ward_a.ward, code="R-1").count() == 1


@pytest.mark.django_db
def test_file_with_errors_is_rejected_and_saves_nothing(ward_a: Any) -> None:
    from cameras.services import queue_import

    bad = csv_for(ward_a.ward, ["B-1"]) + b"B-2,Bad,200,10.8\n"
    job = queue_import(ward=ward_a.ward, actor=ward_a.users["admin"], filename="x.csv", data=bad, dry_run=False)
    assert run_import(import_id=job.pk) == "rejected"
    job.refresh_from_db()
    assert [e["line"] for e in job.report["errors"]] == [3]
    assert not Camera.objects.filter(ward=ward_a.ward).exists()
