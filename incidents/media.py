"""Evidence media: type sniffing, content-addressed storage, clips cut by stream copy, stills.

* **Uploads** are typed by their first bytes (magic numbers), never by name or declared type; videos
  must also open in ffprobe. Zero-byte, oversized (``EVIDENCE_MAX_BYTES``) and disguised files are
  refused with a message saying what the file really is.
* **Storage** is content-addressed: ``evidence/ab/cd/<sha256>.<ext>``; the same bytes land at the same
  name and an existing file is never overwritten.
* **Clips** are cut from a camera's recorded MP4 segments with ffmpeg's concat demuxer and stream copy
  (no re-encode). Stream copy can only start on a key frame, so the cut starts at the last key frame
  at or before the asked start; the true start and end (from ffprobe on the result) are recorded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incidents.models import evidence_path

CHUNK = 1024 * 1024


class MediaError(Exception):
    """A clip or still could not be made; the message says why (shown to the user)."""


def json_roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(value))


# --- sniffing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    ext: str
    content_type: str
    label: str
    video: bool = False


JPEG = Kind("jpg", "image/jpeg", "JPEG")
PNG = Kind("png", "image/png", "PNG")
WEBP = Kind("webp", "image/webp", "WebP")
MP4 = Kind("mp4", "video/mp4", "MP4", video=True)
MOV = Kind("mov", "video/quicktime", "QuickTime", video=True)
MKV = Kind("mkv", "video/x-matroska", "Matroska/WebM", video=True)
AVI = Kind("avi", "video/x-msvideo", "AVI", video=True)
TS = Kind("ts", "video/mp2t", "MPEG-TS", video=True)
PDF = Kind("pdf", "application/pdf", "PDF")
ACCEPTED = (JPEG, PNG, WEBP, MP4, MOV, MKV, AVI, TS, PDF)

# What common disguises really are, to say so in the error.
_KNOWN_OTHERS: list[tuple[bytes, Any]] = [
    (b"\x7fELF", gettext_lazy("an ELF program")),
    (b"MZ", gettext_lazy("a Windows program")),
    (b"PK\x03\x04", gettext_lazy("a zip archive")),
    (b"#!", gettext_lazy("a script")),
    (b"%!PS", gettext_lazy("a PostScript file")),
    (b"\x1f\x8b", gettext_lazy("a gzip archive")),
    (b"Rar!", gettext_lazy("a RAR archive")),
    (b"7z\xbc\xaf", gettext_lazy("a 7-Zip archive")),
    (b"GIF8", gettext_lazy("a GIF image")),
]


def sniff(head: bytes) -> Kind | None:
    """The type of a file from its first bytes, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return AVI
    if head[4:8] == b"ftyp":
        return MOV if head[8:12] == b"qt  " else MP4
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return MKV
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return TS
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def _describe(head: bytes) -> str:
    for magic, what in _KNOWN_OTHERS:
        if head.startswith(magic):
            return str(what)
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<script", b"<?xml", b"<svg")):
        return _("an HTML/XML document")
    try:
        head.decode("utf-8")
        return _("text")
    except UnicodeDecodeError:
        return _("of an unknown type")


def check_upload(file: Any) -> Kind:
    """The file's real type, or ValidationError({"file": ...}) saying what is wrong. Reads only the head."""
    size = getattr(file, "size", None)
    if size is None:
        raise ValidationError({"file": [_("Attach the file.")]})
    if size == 0:
        raise ValidationError({"file": [_("The file is empty (0 bytes).")]})
    limit = settings.EVIDENCE_MAX_BYTES
    if size > limit:
        raise ValidationError(
            {
                "file": [
                    _("The file is %(size)s bytes; evidence uploads may be at most %(limit)s bytes.")
                    % {"size": size, "limit": limit}
                ]
            }
        )
    file.seek(0)
    head = file.read(512)
    file.seek(0)
    kind = sniff(head)
    accepted = ", ".join(k.label for k in ACCEPTED)
    if kind is None:
        raise ValidationError(
            {
                "file": [
                    _("The file's content is %(what)s, not a type accepted as evidence (%(accepted)s).")
                    % {"what": _describe(head), "accepted": accepted}
                ]
            }
        )
    if kind.video:
        problem = _probe_upload(file)
        if problem:
            raise ValidationError(
                {
                    "file": [
                        _("The file starts like %(kind)s but cannot be read as video: %(problem)s")
                        % {"kind": kind.label, "problem": problem}
                    ]
                }
            )
    if kind.content_type.startswith("image/"):
        problem = _image_problem(file)
        if problem:
            raise ValidationError(
                {
                    "file": [
                        _("The file starts like %(kind)s but cannot be read as an image: %(problem)s")
                        % {"kind": kind.label, "problem": problem}
                    ]
                }
            )
    return kind


def _image_problem(file: Any) -> str:
    """Decode the whole image: a file that only starts like one would be kept, and then fail every export."""
    from PIL import Image, UnidentifiedImageError

    try:
        file.seek(0)
        with Image.open(file) as image:
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return str(exc) or exc.__class__.__name__
    finally:
        file.seek(0)
    return ""


def _probe_upload(file: Any) -> str:
    """ffprobe the upload (from its temporary file when Django kept one on disk)."""
    path = getattr(file, "temporary_file_path", None)
    if path is not None:
        return _probe_problem(Path(path()))
    with tempfile.NamedTemporaryFile(suffix=".bin") as tmp:
        for chunk in file.chunks():
            tmp.write(chunk)
        tmp.flush()
        file.seek(0)
        return _probe_problem(Path(tmp.name))


def _probe_problem(path: Path) -> str:
    try:
        info = ffprobe(path)
    except MediaError as exc:
        return str(exc)
    if not any(s.get("codec_type") == "video" for s in info.get("streams", [])):
        return _("it holds no video stream.")
    return ""


# --- storage -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    name: str
    sha256: str
    size: int
    content_type: str


def _hash_file(fh: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    fh.seek(0)
    while chunk := fh.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    fh.seek(0)
    return digest.hexdigest(), size


def store(fh: Any, *, ext: str | None = None, content_type: str | None = None) -> Stored:
    """Hash ``fh`` and keep it at its content address (never overwriting what is there)."""
    raw = getattr(fh, "file", fh)
    fh.seek(0)
    head = fh.read(512)
    fh.seek(0)
    kind = sniff(head)
    ext = ext or (kind.ext if kind else "bin")
    content_type = content_type or (kind.content_type if kind else "application/octet-stream")
    sha, size = _hash_file(raw if hasattr(raw, "read") else fh)
    name = evidence_path(sha, ext)
    if not default_storage.exists(name):
        saved = default_storage.save(name, File(fh, name=os.path.basename(name)))
        if saved != name:  # another writer stored the same bytes a moment before: keep one copy
            default_storage.delete(saved)
        _read_only(name)
    return Stored(name=name, sha256=sha, size=size, content_type=content_type)


def store_path(path: Path, *, ext: str, content_type: str) -> Stored:
    with path.open("rb") as fh:
        return store(fh, ext=ext, content_type=content_type)


def _read_only(name: str) -> None:
    # Object storage has no path: there immutability is the bucket's policy.
    with contextlib.suppress(NotImplementedError, OSError):
        os.chmod(default_storage.path(name), 0o444)


# --- ffmpeg --------------------------------------------------------------------------------------


def _run(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603 - ffmpeg/ffprobe, no shell
    except FileNotFoundError as exc:
        raise MediaError(_("%(tool)s is not installed.") % {"tool": args[0]}) from exc
    except subprocess.TimeoutExpired as exc:
        raise MediaError(_("%(tool)s took too long.") % {"tool": args[0]}) from exc


def ffprobe(path: Path, *extra: str) -> dict[str, Any]:
    proc = _run(["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", *extra, str(path)], timeout=120)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        last = last.replace(f"{path}: ", "").replace(str(path), "")  # never show a server path
        raise MediaError(_("ffprobe cannot read the file (%(err)s).") % {"err": last[:200]})
    data: dict[str, Any] = json.loads(proc.stdout or "{}")
    return data


def key_frames(path: Path) -> tuple[list[float], float, float]:
    """(key frame times relative to the file's start, the file's start time, its duration) of the first video stream."""
    info = ffprobe(path, "-select_streams", "v:0", "-show_entries", "packet=pts_time,dts_time,flags")
    packets = info.get("packets", [])
    fmt = info.get("format", {})
    start = float(fmt.get("start_time") or 0)
    times = []
    for p in packets:
        t = p.get("pts_time") or p.get("dts_time")
        if t is not None and "K" in p.get("flags", ""):
            times.append(float(t) - start)
    duration = float(fmt.get("duration") or 0)
    return sorted(times), start, duration


@dataclass
class Result:
    path: Path
    ext: str
    content_type: str
    true_start: dt.datetime
    true_end: dt.datetime
    workdir: Path

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def _segment_file(segment: Any) -> Path:
    path = Path(settings.MEDIA_ROOT) / segment.path
    if not path.is_file():
        raise MediaError(_("The recording %(path)s is missing from the disk.") % {"path": segment.path})
    return path


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"


def cut(*, segments: Sequence[Any], start: dt.datetime, end: dt.datetime) -> Result:
    """Cut [start, end] out of ``segments`` (ordered, overlapping the window) by stream copy into one MP4."""
    workdir = Path(tempfile.mkdtemp(prefix="clip-", dir=_tmp_root()))
    try:
        lines: list[str] = []
        true_start: dt.datetime | None = None
        last = len(segments) - 1
        for i, segment in enumerate(segments):
            path = _segment_file(segment)
            lines.append(f"file {_quote(path)}")
            keys, offset, duration = key_frames(path)
            if not keys:
                raise MediaError(_("The recording %(path)s holds no key frame.") % {"path": segment.path})
            if i == 0:
                asked = max(0.0, (start - segment.started_at).total_seconds())
                # Stream copy starts on a key frame: the last one at or before the asked start.
                key = max((k for k in keys if k <= asked + 1e-6), default=keys[0])
                true_start = segment.started_at + dt.timedelta(seconds=key)
                if key > 0:
                    lines.append(f"inpoint {key + offset:.6f}")
            if i == last:
                outpoint = (end - segment.started_at).total_seconds()
                if not duration or outpoint < duration:
                    lines.append(f"outpoint {outpoint + offset:.6f}")
        listing = workdir / "list.txt"
        listing.write_text("\n".join(lines) + "\n")
        out = workdir / "clip.mp4"
        proc = _run(
            [
                "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
                "-f", "concat", "-safe", "0", "-i", str(listing),
                "-map", "0:v:0", "-map", "0:a?", "-c", "copy",
                "-movflags", "+faststart", "-f", "mp4", str(out),
            ]
        )  # fmt: skip
        if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            raise MediaError(_("ffmpeg could not cut the clip: %(err)s") % {"err": proc.stderr.strip()[-300:]})
        info = ffprobe(out)
        duration = float(info.get("format", {}).get("duration") or 0)
        if duration <= 0:
            raise MediaError(_("The cut clip holds no video."))
        assert true_start is not None
        return Result(
            path=out,
            ext="mp4",
            content_type="video/mp4",
            true_start=true_start,
            true_end=true_start + dt.timedelta(seconds=duration),
            workdir=workdir,
        )
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def snapshot(*, segments: Sequence[Any], at: dt.datetime) -> Result:
    """The frame shown at ``at`` (decoded, so exact to the frame) as a JPEG."""
    workdir = Path(tempfile.mkdtemp(prefix="still-", dir=_tmp_root()))
    try:
        segment = segments[0]
        path = _segment_file(segment)
        offset = max(0.0, (at - segment.started_at).total_seconds())
        out = workdir / "still.jpg"
        proc = _run(
            [
                "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
                "-ss", f"{offset:.3f}", "-i", str(path), "-frames:v", "1", "-q:v", "2", "-f", "image2", str(out),
            ],
            timeout=60,
        )  # fmt: skip
        if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            raise MediaError(
                _("ffmpeg could not take the still: %(err)s") % {"err": proc.stderr.strip()[-300:] or _("no frame there")}
            )
        return Result(path=out, ext="jpg", content_type="image/jpeg", true_start=at, true_end=at, workdir=workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _tmp_root() -> str:
    root = Path(settings.MEDIA_ROOT) / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    return str(root)
