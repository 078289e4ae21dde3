"""Uploaded clips: queue a job, ask it to stop, check the file before any frame is decoded, and say
in the user's language why a clip could not be analysed.

The worker side (the run itself, and recovery of jobs whose worker died) is ``workers/clips.py``.
A failed job keeps a stable ``error_code`` plus the values its message needs (``summary["error"]``);
the message is rendered when it is shown, so each user reads it in their own language.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.models import ClipJob
from portal.services import audit, client_ip

log = logging.getLogger(__name__)

#: Pictures smaller than this show too little to find anyone; larger ones cost gigabytes a frame.
MIN_SIDE_PX, MAX_SIDE_PX = 32, 8192
PROBE_TIMEOUT_S = 30


@dataclass(frozen=True)
class ClipProblem(Exception):
    """Why a clip cannot be analysed: a stable code plus the values its message needs."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)
    detail: str = ""

    def __str__(self) -> str:
        return self.detail or self.code


def error_message(code: str, params: Mapping[str, Any] | None = None) -> str:
    """The translated message for a failed job: what is wrong and what to do about it."""
    p = {"min": MIN_SIDE_PX, "max": MAX_SIDE_PX, **(params or {})}
    messages = {
        "empty": _("The file is empty (0 bytes). Upload the video again."),
        "not_video": _(
            "This file is not a video that can be opened (unknown format or damaged header). "
            "Upload an MP4, AVI, MKV or MOV video."
        ),
        "no_frames": _(
            "Not a single frame of this video could be decoded: the file is damaged or not a video. "
            "Check that it plays, then upload it again."
        ),
        "truncated": _(
            "The video stops before its end: the file is truncated or damaged (an interrupted copy or upload). "
            "Upload the complete file again."
        ),
        "codec": _(
            "The video is encoded with a codec that cannot be decoded here (%(codec)s). "
            "Convert it to H.264 (MP4) and upload it again."
        ),
        "resolution": _(
            "The video's picture size (%(width)s×%(height)s pixels) cannot be analysed: each side must be "
            "between %(min)s and %(max)s pixels. Export the footage at a normal size and upload it again."
        ),
        "missing": _("The uploaded file is no longer in storage. Upload the video again."),
        "unreadable": _("The uploaded file cannot be read from storage. Upload the video again."),
        "not_file": _("The uploaded file is no longer in storage. Upload the video again."),
        "settings": _("The camera's analysis settings are not valid: %(detail)s. Fix them on the camera's settings page."),
        "internal": _(
            "The analysis stopped because of an internal error (logged with job number %(job)s). "
            "Try again; if it happens again, tell the administrator."
        ),
    }
    template = messages.get(code)
    if template is None:
        return _("The video could not be analysed (%(code)s). Upload it again, or try another file.") % {"code": code}
    try:
        return template % p
    except (KeyError, TypeError, ValueError):
        return template


def job_error(job: ClipJob) -> str:
    """The message to show for a failed job (empty for any other)."""
    if job.status != ClipJob.Status.FAILED:
        return ""
    params = (job.summary or {}).get("error", {}).get("params", {}) if isinstance(job.summary, dict) else {}
    return error_message(job.error_code or "internal", {"job": job.pk, **params})


# --- checking a file before decoding it -------------------------------------------------------

_INVALID_SIZE = re.compile(r"Picture size (\d+)x(\d+) is invalid")


def probe(path: str | Path) -> dict[str, Any]:
    """Look at the container's header with ffprobe (no frame decoded) and refuse what cannot be analysed.

    Raises :class:`ClipProblem` for an empty file, a stream whose codec has no decoder here, or a
    picture size outside ``MIN_SIDE_PX``..``MAX_SIDE_PX`` (a forged header could otherwise make the
    decoder allocate gigabytes). Returns what it found; anything it cannot judge is left to
    :class:`~analytics.pipeline.sources.file.FileSource`, which decodes.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise ClipProblem("empty")
    except FileNotFoundError:
        raise ClipProblem("missing") from None
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:  # FileSource still refuses what it cannot decode
        log.warning("ffprobe not found: clips are not checked before decoding")
        return {}
    command = [
        ffprobe,
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=codec_name,codec_tag_string,width,height",
    ]
    try:
        done = subprocess.run(  # noqa: S603 (fixed program, absolute path after "--")
            [*command, "-of", "json", "--", str(path.resolve())],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ClipProblem("not_video", detail="ffprobe timed out") from None
    invalid = _INVALID_SIZE.search(done.stderr)
    if invalid:
        raise ClipProblem("resolution", {"width": int(invalid[1]), "height": int(invalid[2])}, done.stderr.strip()[:300])
    try:
        streams = json.loads(done.stdout or "{}").get("streams") or []
    except json.JSONDecodeError:
        streams = []
    if not streams:
        return {}  # not a container ffprobe knows: FileSource says what it is
    stream = streams[0]
    if not stream.get("codec_name"):
        tag = str(stream.get("codec_tag_string") or "?")
        raise ClipProblem("codec", {"codec": tag}, f"no decoder for codec tag {tag}")
    width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
    if width and height and not (min(width, height) >= MIN_SIDE_PX and max(width, height) <= MAX_SIDE_PX):
        raise ClipProblem("resolution", {"width": width, "height": height}, f"{width}x{height}")
    return stream


# --- services ------------------------------------------------------------------------------------


def queue_clip(
    *,
    ward: Any,
    actor: Any,
    upload: Any,
    camera: Any = None,
    recorded_at: Any = None,
    request: Any = None,
) -> ClipJob:
    """Store the uploaded file (streamed to disk in chunks) and hand the job to a worker after commit."""
    from workers.clips import analyse_clip

    with transaction.atomic():
        job = ClipJob(
            ward=ward,
            camera=camera,
            filename=(Path(upload.name or "clip").name or "clip")[:200],
            size=upload.size or 0,
            recorded_at=recorded_at or timezone.now(),
            created_by=actor,
        )
        job.file.save("clip.bin", upload, save=False)  # the name comes from clip_upload_path
        job.save()
        audit(
            action="clip_job_queued",
            actor=actor,
            ward=ward,
            obj=job,
            ip=client_ip(request),
            detail={"filename": job.filename, "size": job.size, "camera": camera.pk if camera else None},
        )
        transaction.on_commit(lambda: analyse_clip.delay(job.pk))
    return job


def request_cancel(*, job: ClipJob, actor: Any, request: Any = None) -> ClipJob:
    """Ask a queued or running job to stop. A queued job stops at once; a running one at its next
    progress check (about a second). What it already found is kept."""
    with transaction.atomic():
        job = ClipJob.objects.select_for_update().get(pk=job.pk)
        if job.finished:
            return job
        job.cancel_requested = True
        fields = ["cancel_requested"]
        if job.status == ClipJob.Status.QUEUED:
            job.status = ClipJob.Status.CANCELLED
            job.finished_at = timezone.now()
            fields += ["status", "finished_at"]
        job.save(update_fields=fields)
        audit(action="clip_job_cancelled", actor=actor, ward=job.ward, obj=job, ip=client_ip(request), detail={})
    return job
