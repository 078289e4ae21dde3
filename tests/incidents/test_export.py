"""Exports anyone can verify: real clips cut by ffmpeg, real C2PA credentials, a real zip, the verifier
run as a module (without Django), as a command and as a page."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from incidents import exports, services
from incidents.keys import ensure_keys, load_keys
from incidents.models import CustodyEntry, Evidence, ExportJob
from incidents.verify import canonical_json, manifest_bytes, verify_bundle

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
REASON = "Requested by the district prosecutor's office, letter 12/VKS"


def export(case: Any, user: Any, *, redacted: bool = False) -> ExportJob:
    job = exports.queue_export(case=case, actor=user, reason=REASON, redacted=redacted)
    done = exports.run_export(job_id=job.pk)
    assert done is not None
    return done


def bundle_path(job: ExportJob, media: Path) -> Path:
    assert job.status == ExportJob.Status.DONE, job.error
    return media / job.file.name


def rewrite(source: Path, dest: Path, changes: dict[str, Any]) -> Path:
    """A copy of the bundle with some members replaced (bytes) or removed (None), or added."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(dest, "w", zipfile.ZIP_STORED) as new:
        for info in old.infolist():
            if info.filename in changes:
                if changes[info.filename] is not None:
                    new.writestr(info.filename, changes[info.filename])
                continue
            new.writestr(info.filename, old.read(info.filename))
        for name, data in changes.items():
            if name not in old.namelist() and data is not None:
                new.writestr(name, data)
    return dest


def flip(data: bytes, at: int | None = None) -> bytes:
    at = len(data) // 2 if at is None else at
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def run_verifier(path: Path, *args: str, pythonpath: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = pythonpath or str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "incidents.verify", str(path), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_export_then_verify_passes_everywhere(filled_case: Any, ward_a: Any, media: Path, keys: Any, client: Any) -> None:
    investigator = ward_a.users["investigator"]
    job = export(filled_case, investigator)
    path = bundle_path(job, media)
    assert job.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and job.size == path.stat().st_size
    assert job.progress == 100 and job.key_fingerprint == keys.fingerprint

    with zipfile.ZipFile(path) as bundle:
        assert all(info.compress_type == zipfile.ZIP_STORED for info in bundle.infolist())
        names = set(bundle.namelist())
        manifest = json.loads(bundle.read("manifest.json"))
    assert {"manifest.json", "manifest.sig", "public_key.pem", "c2pa_root.pem"} <= names
    assert manifest["case"]["number"] == filled_case.number and manifest["case"]["ward"]["slug"] == "ward-a"
    assert manifest["reason"] == REASON and manifest["deployment"]["key_fingerprint"] == keys.fingerprint
    files = {f["kind"]: f for f in manifest["files"]}
    assert set(files) == {"clip", "snapshot"}
    for ev in filled_case.evidence.all():
        entry = files[ev.kind]
        assert entry["path"] in names and entry["camera"] == "CAM-1" and entry["c2pa"] is True
        assert entry["original_sha256"] == ev.sha256 and entry["original_size"] == ev.size
        # Signing adds credentials: the bundled file is not the original, and the manifest says both.
        assert entry["sha256"] != ev.sha256
        assert entry["true_start"] == ev.true_start.isoformat()
    # The custody log in the bundle already holds the export itself (one entry per file and one for the case).
    actions = [e["action"] for e in manifest["custody"]]
    assert actions.count("export") == 3 and manifest["custody"][-1]["reason"] == REASON
    assert not services.verify_custody(case=filled_case)

    # The module, in a process without Django settings.
    done = run_verifier(path, "--fingerprint", keys.fingerprint)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "INTACT" in done.stdout and keys.fingerprint in done.stdout
    assert done.stdout.count("C2PA credentials trusted") == 2
    # Without a trusted fingerprint it still checks everything but says origin was not checked.
    plain = run_verifier(path)
    assert plain.returncode == 0 and "Origin NOT checked" in plain.stdout

    # The command.
    out = io.StringIO()
    call_command("verify_bundle", str(path), stdout=out)
    assert "INTACT" in out.getvalue()

    # The page: anyone, no login.
    page = client.get(reverse("verify-bundle"))
    assert page.status_code == 200 and keys.fingerprint in page.content.decode()
    with open(path, "rb") as upload:
        result = client.post(reverse("verify-bundle"), {"bundle": upload})
    body = result.content.decode()
    assert result.status_code == 200 and 'data-ok="true"' in body
    assert files["clip"]["path"] in body
    exported = dt.datetime.fromisoformat(json.loads(zipfile.ZipFile(path).read("manifest.json"))["created_at"])
    assert timezone.localtime(exported).strftime("%H:%M:%S %d/%m/%Y") in body  # the ward's time, not UTC


def in_place(source: Path, dest: Path, name: str, changed: bytes) -> Path:
    """A copy of the bundle with one member's bytes overwritten where they lie: the zip's CRC-32 goes stale."""
    shutil.copy(source, dest)
    with zipfile.ZipFile(dest) as bundle:
        info = bundle.getinfo(name)
    with open(dest, "r+b") as raw:
        raw.seek(info.header_offset)
        header = raw.read(30)
        raw.seek(info.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little"))
        raw.write(changed)
    return dest


@pytest.mark.parametrize("how", ["rebuilt", "in place"])
@pytest.mark.parametrize("target", ["clip", "snapshot", "manifest.json", "manifest.sig"])
def test_one_changed_byte_is_found_and_named(
    filled_case: Any, ward_a: Any, media: Path, keys: Any, tmp_path: Path, target: str, how: str
) -> None:
    path = bundle_path(export(filled_case, ward_a.users["investigator"]), media)
    with zipfile.ZipFile(path) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        name = next((f["path"] for f in manifest["files"] if f["kind"] == target), target)
        data = bundle.read(name)
    if name == "manifest.json":
        changed = data.replace(filled_case.number.encode(), filled_case.number[:-1].encode() + b"9", 1)
    else:
        changed = flip(data)
    assert changed != data
    if how == "rebuilt":
        bad = rewrite(path, tmp_path / "bad.zip", {name: changed})
    else:
        bad = in_place(path, tmp_path / "bad.zip", name, changed)
    done = run_verifier(bad, "--fingerprint", keys.fingerprint)
    assert done.returncode == 1, done.stdout
    failing = [line for line in done.stdout.splitlines() if line.strip().startswith("FAIL")]
    assert any(name in line for line in failing), done.stdout
    report = verify_bundle(str(bad), trusted_keys=[keys.fingerprint])
    assert not report.ok and name in {r.name for r in report.failed}
    if target in ("clip", "snapshot"):
        problems = next(r for r in report.failed if r.name == name).problems
        assert any("SHA-256" in p for p in problems) and any(p.startswith("C2PA") for p in problems)


def test_added_or_removed_files_are_named(filled_case: Any, ward_a: Any, media: Path, keys: Any, tmp_path: Path) -> None:
    path = bundle_path(export(filled_case, ward_a.users["investigator"]), media)
    with zipfile.ZipFile(path) as bundle:
        clip = next(f["path"] for f in json.loads(bundle.read("manifest.json"))["files"] if f["kind"] == "clip")
    report = verify_bundle(
        str(rewrite(path, tmp_path / "a.zip", {clip: None, "media/extra.txt": b"hi"})), trusted_keys=[keys.fingerprint]
    )
    failed = {r.name: r.problems for r in report.failed}
    assert "missing from the bundle" in failed[clip][0] and "not listed" in failed["media/extra.txt"][0]


def test_edited_custody_entry_is_detected_even_when_re_signed(
    filled_case: Any, ward_a: Any, media: Path, keys: Any, tmp_path: Path
) -> None:
    path = bundle_path(export(filled_case, ward_a.users["investigator"]), media)
    with zipfile.ZipFile(path) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
    manifest["custody"][0]["actor"] = "someone.else"

    # 1. Edited in place: the signature and the chain both fail.
    edited = rewrite(path, tmp_path / "edited.zip", {"manifest.json": manifest_bytes(manifest)})
    report = verify_bundle(str(edited), trusted_keys=[keys.fingerprint])
    failed = {r.name: r.problems for r in report.failed}
    assert "manifest.json" in failed and any("custody entry 1" in p for p in failed["custody log"])

    # 2. Entry re-hashed, chain re-linked and re-signed with another key: the chain holds, the key is unknown.
    previous = "0" * 64
    for entry in manifest["custody"]:
        entry["prev_hash"] = previous
        entry["hash"] = hashlib.sha256(canonical_json({k: v for k, v in entry.items() if k != "hash"})).hexdigest()
        previous = entry["hash"]
    forger = load_keys(tmp_path / "forger")
    manifest["deployment"]["key_fingerprint"] = forger.fingerprint
    body = manifest_bytes(manifest)
    forged = rewrite(
        path,
        tmp_path / "forged.zip",
        {"manifest.json": body, "manifest.sig": forger.manifest_key.sign(body), "public_key.pem": forger.public_key_pem},
    )
    report = verify_bundle(str(forged), trusted_keys=[keys.fingerprint])
    assert not report.ok and report.key_trusted is False
    assert any("signed by an unknown key" in p for p in next(r for r in report.failed if r.name == "public_key.pem").problems)
    done = run_verifier(forged, "--key", str(_pem(tmp_path, keys)))
    assert done.returncode == 1 and "SIGNED BY AN UNKNOWN KEY" in done.stdout and forger.fingerprint in done.stdout
    with pytest.raises(CommandError):
        call_command("verify_bundle", str(forged), stdout=io.StringIO())


def _pem(tmp_path: Path, keys: Any) -> Path:
    path = tmp_path / "deployment.pem"
    path.write_bytes(keys.public_key_pem)
    return path


def test_missing_media_fails_the_export_and_lists_it(filled_case: Any, ward_a: Any, media: Path, keys: Any, english: Any) -> None:
    clip = filled_case.evidence.get(kind="clip")
    stored = media / clip.file.name
    stored.unlink()  # stored read-only, in a folder we may write
    custody_before = CustodyEntry.objects.filter(case=filled_case).count()
    job = export(filled_case, ward_a.users["investigator"])
    assert job.status == ExportJob.Status.FAILED
    assert job.missing == [{"evidence": clip.pk, "kind": "clip", "why": "its file is missing from storage"}]
    assert f"#{clip.pk} (clip)" in job.error
    assert not job.file
    assert not [p for p in (media / "exports").rglob("*") if p.is_file()]  # nothing half-written, no temporary left
    assert CustodyEntry.objects.filter(case=filled_case).count() == custody_before


def test_a_clip_request_that_found_no_recording_is_listed_not_blocking(
    filled_case: Any, camera: Any, ward_a: Any, media: Path, keys: Any, english: Any
) -> None:
    """A sighting with no recording behind it must not stop the case from being handed over."""
    long_ago = timezone.now() - dt.timedelta(days=3)
    gap = services.add_clip(
        case=filled_case,
        camera=camera,
        start=long_ago,
        end=long_ago + dt.timedelta(seconds=10),
        actor=ward_a.users["investigator"],
    )
    services.process_evidence(evidence_id=gap.pk)
    gap.refresh_from_db()
    assert gap.status == Evidence.Status.FAILED and "no recording" in gap.error
    job = export(filled_case, ward_a.users["investigator"])
    with zipfile.ZipFile(bundle_path(job, media)) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
    assert [e["evidence"] for e in manifest["unavailable_evidence"]] == [gap.pk]
    assert manifest["unavailable_evidence"][0]["error"] == gap.error
    assert gap.pk not in {f["evidence"] for f in manifest["files"]}
    assert verify_bundle(bundle_path(job, media), trusted_keys=[keys.fingerprint]).ok


def test_api_export_job_download_and_scoping(
    filled_case: Any, ward_a: Any, ward_b: Any, media: Path, keys: Any, api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("api:case-export", args=[filled_case.pk])
    investigator = api(ward_a.users["investigator"])
    assert investigator.post(url, {}, format="json").status_code == 400
    assert "reason" in investigator.post(url, {"redacted": False}, format="json").json()
    assert investigator.post(url, {"reason": "x", "zip": 1}, format="json").status_code == 400
    assert api(ward_a.users["operator"]).post(url, {"reason": REASON}, format="json").status_code == 403
    assert api(ward_b.users["investigator"]).post(url, {"reason": REASON}, format="json").status_code == 404
    assert api(ward_a.users["official"]).post(url, {"reason": REASON}, format="json").status_code == 404

    response = investigator.post(url, {"reason": REASON}, format="json")
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["status"] == "queued" and job["download"] is None and job["case_number"] == filled_case.number
    exports.run_export(job_id=job["id"])  # what the worker does
    detail = investigator.get(reverse("api:exportjob-detail", args=[job["id"]])).json()
    assert detail["status"] == "done" and detail["progress"] == 100 and detail["download"]
    assert api(ward_b.users["investigator"]).get(reverse("api:exportjob-detail", args=[job["id"]])).status_code == 404
    assert api(ward_b.users["investigator"]).get(detail["download"]).status_code == 404

    before = CustodyEntry.objects.filter(case=filled_case, action="export_download").count()
    download = investigator.get(detail["download"])
    assert download.status_code == 200
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == detail["sha256"]
    assert CustodyEntry.objects.filter(case=filled_case, action="export_download").count() == before + 1

    key = api().get(reverse("api:signing-key")).json()
    assert key["fingerprint"] == keys.fingerprint and "BEGIN PUBLIC KEY" in key["public_key_pem"]
    report = api().post(reverse("api:verify"), {"bundle": io.BytesIO(data)}, format="multipart").json()
    assert report["ok"] is True and report["case"] == filled_case.number


def test_verifier_runs_without_django(filled_case: Any, ward_a: Any, media: Path, keys: Any, tmp_path: Path) -> None:
    """Only incidents/verify.py (and an empty package file) on the path: no settings, no portal code."""
    path = bundle_path(export(filled_case, ward_a.users["investigator"]), media)
    alone = tmp_path / "alone" / "incidents"
    alone.mkdir(parents=True)
    (alone / "__init__.py").write_text("")
    shutil.copy(ROOT / "incidents" / "verify.py", alone / "verify.py")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(alone.parent)
    code = (
        "import sys, runpy; sys.argv=['verify', sys.argv[1], '--fingerprint', sys.argv[2]]\n"
        "try:\n    runpy.run_module('incidents.verify', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'portal', 'rest_framework'))\n"
        "    print('IMPORTED', bad)\n    raise\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), keys.fingerprint],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "IMPORTED []" in done.stdout and "INTACT" in done.stdout
    # And the real package's __init__ does not pull Django in either.
    check = subprocess.run(
        [sys.executable, "-c", "import incidents.verify, sys; print(any(m.startswith('django') for m in sys.modules))"],
        capture_output=True, text=True, env={**env, "PYTHONPATH": str(ROOT)}, timeout=60, check=False,
    )  # fmt: skip
    assert check.stdout.strip() == "False", check.stderr


def test_keys_are_made_once_with_private_files(settings: Any, tmp_path: Path) -> None:
    settings.SIGNING_KEY_DIR = tmp_path / "k"
    out = io.StringIO()
    call_command("make_signing_keys", stdout=out)
    first = load_keys(tmp_path / "k")
    assert first.fingerprint in out.getvalue()
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in (tmp_path / "k").glob("*.pem"))
    assert ensure_keys(tmp_path / "k") == []
    call_command("make_signing_keys", stdout=io.StringIO())
    assert load_keys(tmp_path / "k").fingerprint == first.fingerprint


# --- redaction -----------------------------------------------------------------------------------

FACE_PHOTO = Path("/usr/share/doc/opencv-doc/opencv4/html/227943776_1.jpg")
PHOTO_BOX = (40, 40, 260, 260)  # where the photo is pasted, x0 y0 x1 y1
FACE_BOX = (105, 95, 185, 175)  # the face inside it (at 114,95-300,281 in the 434-px photo)


def _scene() -> tuple[Any, tuple[int, int, int, int]]:
    """A 640×480 frame with a real face photo and a rendered Vietnamese plate at known places."""
    import cv2
    import numpy as np

    from tests.plates.render import random_plates

    frame = np.full((480, 640, 3), 80, np.uint8)
    face = cv2.resize(cv2.imread(str(FACE_PHOTO)), (PHOTO_BOX[2] - PHOTO_BOX[0], PHOTO_BOX[3] - PHOTO_BOX[1]))
    frame[PHOTO_BOX[1] : PHOTO_BOX[3], PHOTO_BOX[0] : PHOTO_BOX[2]] = face
    plate = random_plates(1, seed=3, glyph_heights=(40,))[0].image
    h, w = plate.shape[:2]
    x0, y0 = 220, 330
    frame[y0 : y0 + h, x0 : x0 + w] = plate
    return frame, (x0, y0, x0 + w, y0 + h)


def _sharpness(image: Any, box: tuple[int, int, int, int]) -> float:
    import cv2

    x0, y0, x1, y1 = box
    return float(cv2.Laplacian(cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def _frame_of(data: bytes, tmp_path: Path, name: str) -> Any:
    import cv2

    path = tmp_path / name
    path.write_bytes(data)
    capture = cv2.VideoCapture(str(path))
    for _ in range(7):
        ok, frame = capture.read()
        assert ok
    capture.release()
    return frame


def test_redacted_export_blurs_faces_and_plates_and_links_originals(
    case: Any, ward_a: Any, media: Path, keys: Any, tmp_path: Path
) -> None:
    import cv2
    from django.core.files.uploadedfile import SimpleUploadedFile

    frame, plate_box = _scene()
    video = tmp_path / "scene.mp4"
    encoder = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", "640x480", "-r", "10", "-i", "-",
         "-c:v", "libx264", "-preset", "ultrafast", "-qp", "10", "-pix_fmt", "yuv420p", str(video)],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    assert encoder.stdin is not None
    for _ in range(15):
        encoder.stdin.write(frame.tobytes())
    encoder.stdin.close()
    assert encoder.wait() == 0
    investigator = ward_a.users["investigator"]
    clip = services.add_upload(case=case, file=SimpleUploadedFile("scene.mp4", video.read_bytes()), actor=investigator)
    still = services.add_upload(
        case=case,
        file=SimpleUploadedFile("scene.jpg", cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()),
        actor=investigator,
    )

    job = export(case, investigator, redacted=True)
    path = bundle_path(job, media)
    report = verify_bundle(str(path), trusted_keys=[keys.fingerprint])
    assert report.ok and report.redacted, [r.as_dict() for r in report.failed]
    with zipfile.ZipFile(path) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        entries = {f["evidence"]: f for f in manifest["files"]}
        redacted_video = bundle.read(entries[clip.pk]["path"])
        redacted_still = cv2.imdecode(np.frombuffer(bundle.read(entries[still.pk]["path"]), np.uint8), cv2.IMREAD_COLOR)
    for ev in (clip, still):
        entry = entries[ev.pk]
        assert entry["redacted"] is True and entry["original_sha256"] == ev.sha256
        assert entry["redaction"]["faces"] >= 1 and entry["redaction"]["text_regions"] >= 1
    original = _frame_of(video.read_bytes(), tmp_path, "original.mp4")
    blurred = _frame_of(redacted_video, tmp_path, "redacted.mp4")
    for box in (FACE_BOX, plate_box):
        assert _sharpness(blurred, box) < 0.2 * _sharpness(original, box)
        assert _sharpness(redacted_still, box) < 0.2 * _sharpness(frame, box)
    # Far from the face and the plate the picture is left alone.
    assert abs(float(blurred[20:60, 560:620].mean()) - float(original[20:60, 560:620].mean())) < 3


import numpy as np  # noqa: E402


def test_verify_page_refuses_garbage_clearly(client: Any, keys: Any, english: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = client.post(reverse("verify-bundle"), {"bundle": SimpleUploadedFile("x.zip", b"not a zip at all")})
    assert page.status_code == 200 and 'data-ok="false"' in page.content.decode()
    assert "Not an evidence bundle" in page.content.decode()
    assert client.post(reverse("verify-bundle"), {}).status_code == 400
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("hello.txt", "hi")
    page = client.post(reverse("verify-bundle"), {"bundle": SimpleUploadedFile("y.zip", zipped.getvalue())})
    assert "manifest.json" in page.content.decode() and 'data-ok="false"' in page.content.decode()


def test_export_panel_on_the_case_page_for_investigators_only(case: Any, ward_a: Any, keys: Any, rf: Any) -> None:
    from django.template import Context, Template

    template = Template("{% load exports %}{% export_panel case %}")
    for role, shown in (("investigator", True), ("admin", True), ("operator", False)):
        request = rf.get("/")
        request.user = ward_a.users[role]
        html = template.render(Context({"case": case, "request": request, "csrf_token": "t"}))
        assert keys.fingerprint in html
        assert ('id="export-form"' in html) is shown
        assert (reverse("api:case-export", args=[case.pk]) in html) is shown


@pytest.mark.worker
def test_a_real_worker_runs_the_export(
    transactional_db: Any, filled_case: Any, ward_a: Any, media: Path, keys: Any, api: Any, settings: Any
) -> None:
    import time

    from tests.test_worker import worker_env

    env = worker_env() | {"MEDIA_ROOT": str(media), "SIGNING_KEY_DIR": str(settings.SIGNING_KEY_DIR)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "-Q", "default", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        client = api(ward_a.users["investigator"])
        job = client.post(reverse("api:case-export", args=[filled_case.pk]), {"reason": REASON}, format="json").json()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = client.get(reverse("api:exportjob-detail", args=[job["id"]])).json()
            if job["status"] in ("done", "failed"):
                break
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.3)
        assert job["status"] == "done", job
        assert verify_bundle(str(media / ExportJob.objects.get(pk=job["id"]).file.name), trusted_keys=[keys.fingerprint]).ok
    finally:
        proc.send_signal(2)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_case_page_has_the_export_controls(filled_case: Any, ward_a: Any, keys: Any, client: Any, media: Path) -> None:
    export(filled_case, ward_a.users["investigator"])
    client.force_login(ward_a.users["investigator"])
    html = client.get(reverse("case-detail", args=[filled_case.pk])).content.decode()
    assert 'id="export-form"' in html and keys.fingerprint in html and "js/case-export.js" in html
    job = ExportJob.objects.get(case=filled_case)
    assert reverse("api:exportjob-download", args=[job.pk]) in html


def test_a_zip_bomb_is_refused_before_unpacking(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", b"{}")
        z.writestr("manifest.sig", b"")
        z.writestr("public_key.pem", b"")
        z.writestr("media/huge.mp4", b"\0" * (64 * 1024 * 1024))
    assert bomb.stat().st_size < 1024 * 1024
    report = verify_bundle(str(bomb), max_unpacked=16 * 1024 * 1024)
    assert not report.ok and "unpacks to" in report.fatal
