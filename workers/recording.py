"""Recording a camera's footage with ffmpeg, and the retention that deletes old footage.

:class:`Recorder` runs one ffmpeg process per camera: RTSP over TCP in, stream copy out (``-c copy``:
no decoding, no re-encoding, the camera's own H.264/H.265), cut by the segment muxer every
``segment_seconds`` at the next key frame into MP4 files named by their UTC start and the recording
session (``20260101-120000-<session>.mp4``). ffmpeg reports each segment it opens and closes on its
log; a closed segment is complete (its index written) and is handed over as a :class:`ClosedSegment`
with its wall-clock start and end, which :func:`register_segment` saves as a ``RecordingSegment``.
When ffmpeg exits (the camera dropped, a network error), the recorder starts it again after a delay
that doubles up to ``backoff_max_s``.

The URL is checked by ``check_stream_url`` (the one home of the URL rules) before ffmpeg sees it;
credentials go into the URL in ffmpeg's arguments only and are blanked out of every line of its log
that is kept. ffmpeg dies with its parent (``PR_SET_PDEATHSIG``), so a killed worker leaves no
recorder behind writing the same files as the worker that takes the camera over.

Retention (:func:`apply_retention`, a beat task) deletes, oldest first, every segment past its
camera's ``retention_days`` and then, while the recordings exceed ``RECORDINGS_MAX_BYTES``, the
oldest of all cameras; never a segment held as evidence (``locked``). The row goes first, with
``locked=False`` in the same conditional DELETE, so an evidence lock that lands at the same moment
wins, then the file.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import logging
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from analytics.pipeline.sources.stream import check_stream_url

logger = logging.getLogger(__name__)

_OPENED = re.compile(r"\[segment @ [^\]]+\] \[\w+\] Opening '(?P<name>[^'/]+\.mp4)' for writing")
_ENDED = re.compile(r"\[segment @ [^\]]+\] \[\w+\] segment:'(?P<name>[^'/]+\.mp4)' count:\d+ ended")
_PROBLEM = re.compile(r"\[(error|fatal|panic)\]")
RECORDINGS_DIR = "recordings"


def camera_url(url: str, username: str = "", password: str = "") -> tuple[str, str]:
    """(URL to open, URL to show): credentials injected into the first, never in the second.

    Raises ``SourceError`` for anything but an rtsp/rtsps/http/https camera address, before any
    process or decoder sees the URL. Credentials given separately win over ones written in the URL.
    """
    shown, url_user, url_password = check_stream_url(url)
    username, password = username or url_user, password or url_password
    if not (username or password):
        return shown, shown
    parts = urlsplit(shown)
    userinfo = quote(username, safe="") + (":" + quote(password, safe="") if password else "")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}")), shown


def redact(text: str, secrets: Iterable[str]) -> str:
    """Blank every secret out of ``text``, as written and as percent-encoded in a URL."""
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe="")}:
                text = text.replace(form, "***")
    return text


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: SIGKILL this process when the thread that started it ends (its worker died)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def media_duration(path: Path, *, ffprobe: str = "ffprobe") -> float | None:
    """Seconds of media in a finished file, or None when ffprobe cannot tell."""
    try:
        proc = subprocess.run(  # noqa: S603 - ffprobe on our own file, no shell
            [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return float(proc.stdout.strip())
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


@dataclass(frozen=True)
class ClosedSegment:
    name: str  # file name inside the recorder's folder
    started_at: dt.datetime
    ended_at: dt.datetime
    size: int


class Recorder:
    """One camera's ffmpeg recorder; :meth:`poll` from the supervisor's loop, :meth:`stop` at the end."""

    def __init__(
        self,
        url: str,
        folder: Path,
        *,
        segment_seconds: int,
        tag: str,
        secrets: Iterable[str] = (),
        ffmpeg: str = "ffmpeg",
        timeout_s: float = 5.0,
        backoff_s: float = 1.0,
        backoff_max_s: float = 30.0,
    ) -> None:
        self._url = url
        self.folder = folder
        self.segment_seconds = segment_seconds
        self.tag = re.sub(r"[^\w-]", "", tag)[:16] or "rec"
        self._secrets = tuple(s for s in secrets if s)
        self.ffmpeg = ffmpeg
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._events: queue.Queue[ClosedSegment] = queue.Queue()
        self._opened: dict[str, dt.datetime] = {}
        self._delay = backoff_s
        self._restart_at = 0.0
        self._stopped = False
        self.restarts = 0
        self.error = ""
        self.writing_since: float | None = None  # monotonic time the current process opened its first segment

    def args(self) -> list[str]:
        return [
            self.ffmpeg,
            "-nostdin",
            "-nostats",
            "-hide_banner",
            "-loglevel",
            "level+verbose",  # segment opened/ended lines are at the verbose level
            "-rtsp_transport",
            "tcp",
            "-timeout",
            str(int(self.timeout_s * 1_000_000)),  # a silent camera ends ffmpeg instead of hanging it
            "-analyzeduration",
            "1000000",
            "-i",
            self._url,
            "-map",
            "0:v:0",
            "-map",
            "0:a?",
            "-c",
            "copy",
            "-f",
            "segment",
            "-segment_time",
            str(self.segment_seconds),
            "-segment_format",
            "mp4",
            "-reset_timestamps",
            "1",
            "-strftime",
            "1",
            f"%Y%m%d-%H%M%S-{self.tag}.mp4",
        ]

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def writing(self) -> bool:
        return self.running and self.writing_since is not None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._opened.clear()
        self.writing_since = None
        self._proc = subprocess.Popen(  # noqa: S603 - an argument list, no shell; the URL passed check_stream_url
            self.args(),
            cwd=self.folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "TZ": "UTC"},  # strftime names in UTC, whatever the worker's zone
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, no locks taken
        )
        self._reader = threading.Thread(target=self._read_log, args=(self._proc,), name="recorder-log", daemon=True)
        self._reader.start()

    def _read_log(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            now = dt.datetime.now(dt.UTC)
            if match := _OPENED.search(line):
                self._opened[match["name"]] = now
                if self.writing_since is None:
                    self.writing_since = time.monotonic()
            elif match := _ENDED.search(line):
                self._closed(match["name"], now)
            elif _PROBLEM.search(line):
                self.error = redact(line, self._secrets)[-300:]
                logger.warning("recorder %s: %s", self.tag, self.error)

    def _closed(self, name: str, at: dt.datetime) -> None:
        started = self._opened.pop(name, None)
        try:
            size = (self.folder / name).stat().st_size
        except OSError:
            return
        if started is None:  # the log line was missed: the name carries the start to the second
            started = dt.datetime.strptime(name[:15], "%Y%m%d-%H%M%S").replace(tzinfo=dt.UTC)
        # The first segment also holds what ffmpeg buffered while probing the stream, before it opened
        # the file: the file's own duration, counted back from its end, says when its first frame was seen.
        # Evidence clips are timed from these rows, so the start must be that of the first frame.
        duration = media_duration(self.folder / name)
        if duration is not None and duration > 0:
            started = at - dt.timedelta(seconds=duration)
        self._events.put(ClosedSegment(name=name, started_at=started, ended_at=max(at, started), size=size))

    def _reap(self) -> int | None:
        """Wait for the log of an exited process to be read to its end; return the exit status."""
        if self._proc is None or self._proc.poll() is None:
            return None
        if self._reader is not None:
            self._reader.join(timeout=5)
        status = self._proc.returncode
        self._proc = None
        return status

    def poll(self) -> list[ClosedSegment]:
        """Segments closed since the last call; restarts ffmpeg (with backoff) if it has exited."""
        status = self._reap()
        if status is not None and not self._stopped:
            self.writing_since = None
            if status != 0 and not self.error:
                self.error = f"ffmpeg exited with status {status}"
            # A recorder that wrote for a while and then lost its camera retries promptly.
            self._restart_at = time.monotonic() + self._delay
            self._delay = min(self._delay * 2, self.backoff_max_s)
        if self._proc is None and not self._stopped and time.monotonic() >= self._restart_at:
            if self._restart_at:
                self.restarts += 1
            self.start()
        elif self.writing:
            self._delay = self.backoff_s
        return self._drain()

    def _drain(self) -> list[ClosedSegment]:
        closed: list[ClosedSegment] = []
        while True:
            try:
                closed.append(self._events.get_nowait())
            except queue.Empty:
                return closed

    def stop(self, timeout: float = 10.0) -> list[ClosedSegment]:
        """Stop ffmpeg cleanly (SIGINT: it finishes the open segment); return the last segments."""
        self._stopped = True
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._reap()
        return self._drain()


# --- the database side ------------------------------------------------------------------------


def camera_folder(camera_id: int) -> str:
    """The camera's recordings, relative to MEDIA_ROOT."""
    return f"{RECORDINGS_DIR}/{camera_id}"


def register_segment(*, camera: Any, segment: ClosedSegment) -> Any:
    """Save a closed segment as a ``RecordingSegment`` row (idempotent: the path is unique per camera)."""
    from cameras.models import RecordingSegment

    row, _created = RecordingSegment.objects.update_or_create(
        camera=camera,
        path=f"{camera_folder(camera.pk)}/{segment.name}",
        defaults={
            "ward_id": camera.ward_id,
            "started_at": segment.started_at,
            "ended_at": segment.ended_at,
            "size": segment.size,
        },
    )
    return row


@dataclass
class RetentionReport:
    deleted: int = 0
    freed_bytes: int = 0
    kept_locked: int = 0  # segments past their retention kept because they are held as evidence
    missing_files: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _delete(segment: Any, report: RetentionReport, media_root: Path) -> bool:
    """Delete one segment's row (only if still unlocked), then its file."""
    from cameras.models import RecordingSegment

    deleted, _ = RecordingSegment.objects.filter(pk=segment.pk, locked=False).delete()
    if not deleted:
        report.kept_locked += 1
        return False
    report.deleted += 1
    report.freed_bytes += segment.size
    try:
        (media_root / segment.path).unlink()
    except FileNotFoundError:
        report.missing_files += 1
    except OSError as exc:  # the row is gone; say which file is left behind
        logger.error("retention: cannot delete %s: %s", segment.path, exc)
    return True


def apply_retention(
    *, now: dt.datetime | None = None, max_bytes: int | None = None, media_root: Path | None = None
) -> RetentionReport:
    """Delete segments past each camera's ``retention_days``, then the oldest beyond ``max_bytes``."""
    from django.conf import settings
    from django.db.models import Q, Sum
    from django.utils import timezone

    from cameras.models import Camera, RecordingSegment

    now = now or timezone.now()
    media_root = Path(media_root or settings.MEDIA_ROOT)
    max_bytes = settings.RECORDINGS_MAX_BYTES if max_bytes is None else max_bytes
    report = RetentionReport()
    fields = ("pk", "path", "size", "locked")
    # One condition per distinct retention period (a handful), not one query per camera.
    periods = Camera.objects.filter(segments__isnull=False).values_list("retention_days", flat=True).distinct()
    expired = Q(pk__in=[])
    for days in set(periods):
        expired |= Q(camera__retention_days=days, ended_at__lt=now - dt.timedelta(days=days))
    # Lists, not a cursor held open while rows are deleted (SQLite isolates nothing within one connection).
    for segment in list(RecordingSegment.objects.filter(expired).order_by("started_at", "pk").only(*fields)):
        if segment.locked:
            report.kept_locked += 1
        else:
            _delete(segment, report, media_root)
    if max_bytes:
        total = RecordingSegment.objects.aggregate(total=Sum("size"))["total"] or 0
        while total > max_bytes:
            batch = list(RecordingSegment.objects.filter(locked=False).order_by("started_at", "pk").only(*fields)[:200])
            if not batch:
                break  # only held segments are left: evidence outranks the disk budget
            for segment in batch:
                if total <= max_bytes:
                    break
                if _delete(segment, report, media_root):
                    total -= segment.size
    return report
