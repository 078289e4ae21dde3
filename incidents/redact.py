"""Redaction for public release: faces and text (licence plates) blurred, video re-encoded.

What is detected:

* **faces** with OpenCV's frontal-face Haar cascade (shipped in ``cv2.data``), on the grey frame;
* **plates** as any text region found by RapidOCR's PP-OCR text *detector* (no recognition): a plate
  is text, and blurring every text region (shop signs included) errs on the side of privacy.

Video: every ``every``-th frame is searched; the boxes of the last two searches are blurred on the
frames in between (people and vehicles move little in a fifth of a second), each box widened by a
margin. Frames go to ffmpeg (H.264, yuv420p) through a pipe; audio is dropped.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1
MARGIN = 0.2
MAX_TEXT_SHARE = 0.25


@dataclass
class Found:
    frames: int = 0
    searched: int = 0
    faces: int = 0
    text_regions: int = 0
    detectors: list[str] = field(default_factory=lambda: ["opencv haarcascade_frontalface_default", "rapidocr text detector"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "searched_frames": self.searched,
            "faces": self.faces,
            "text_regions": self.text_regions,
            "detectors": self.detectors,
        }


@lru_cache(maxsize=1)
def _faces() -> Any:
    path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise RuntimeError(f"face cascade missing: {path}")
    return cascade


@lru_cache(maxsize=1)
def _text() -> Any:
    from rapidocr import RapidOCR

    from analytics.plates.rapidocr_reader import _package_dir

    det = _package_dir() / "models" / "PP-OCRv6_det_small.onnx"
    rec = _package_dir() / "models" / "PP-OCRv6_rec_small.onnx"  # not run, but named so nothing is fetched
    return RapidOCR(
        params={
            "Global.log_level": "error",
            "Global.use_cls": False,
            "Global.use_rec": False,
            "Det.model_path": str(det),
            "Det.limit_type": "max",
            "Det.limit_side_len": 960,
            "Rec.model_path": str(rec),
        }
    )


def detect(frame: np.ndarray) -> tuple[list[Box], list[Box]]:
    """Face boxes and text boxes in a BGR frame."""
    grey = cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    faces = [(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h in _faces().detectMultiScale(grey, 1.1, 4, minSize=(16, 16))]
    result: Any = _text()(frame, use_det=True, use_cls=False, use_rec=False)
    texts: list[Box] = []
    area = frame.shape[0] * frame.shape[1]
    for quad in result.boxes if result.boxes is not None else []:
        pts = np.asarray(quad, np.float32)
        box = (int(pts[:, 0].min()), int(pts[:, 1].min()), int(pts[:, 0].max()), int(pts[:, 1].max()))
        w, h = box[2] - box[0], box[3] - box[1]
        # Text lines are wider than tall and small; a "region" over much of the frame is texture.
        if w >= 0.8 * h and w * h <= MAX_TEXT_SHARE * area:
            texts.append(box)
    return faces, texts


def blur(frame: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """Blur each box (widened by ``MARGIN``) so strongly that nothing in it can be recognised."""
    h, w = frame.shape[:2]
    for x0, y0, x1, y1 in boxes:
        mx, my = int((x1 - x0) * MARGIN), int((y1 - y0) * MARGIN)
        a, b, c, d = max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)
        if c - a < 2 or d - b < 2:
            continue
        region = frame[b:d, a:c]
        small = cv2.resize(region, (max(1, (c - a) // 12), max(1, (d - b) // 12)), interpolation=cv2.INTER_AREA)
        frame[b:d, a:c] = cv2.GaussianBlur(cv2.resize(small, (c - a, d - b), interpolation=cv2.INTER_LINEAR), (0, 0), 3)
    return frame


def redact_image(source: Path, dest: Path) -> Found:
    frame = cv2.imread(str(source), cv2.IMREAD_COLOR)
    if frame is None:
        raise ValueError(f"not an image that can be read: {source.name}")
    faces, texts = detect(frame)
    blur(frame, faces + texts)
    if not cv2.imwrite(str(dest), frame):
        raise ValueError(f"cannot write {dest.name}")
    return Found(frames=1, searched=1, faces=len(faces), text_regions=len(texts))


def redact_video(source: Path, dest: Path, *, every: int = 5) -> Found:
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise ValueError(f"not a video that can be read: {source.name}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 10.0
    ok, frame = capture.read()
    if not ok:
        raise ValueError(f"no frame could be decoded from {source.name}")
    h, w = frame.shape[:2]
    ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
    # yuv420p needs even sides: pad by one pixel where odd.
    command = [
        ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", f"{fps:.6f}", "-i", "-",
        "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
        "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-an", str(dest),
    ]  # fmt: skip
    encoder = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)  # noqa: S603 (fixed program)
    assert encoder.stdin is not None
    found = Found()
    recent: list[list[Box]] = []
    try:
        index = 0
        while ok:
            if index % every == 0:
                faces, texts = detect(frame)
                found.searched += 1
                found.faces += len(faces)
                found.text_regions += len(texts)
                recent = [*recent[-1:], faces + texts]
            blur(frame, [box for boxes in recent for box in boxes])
            encoder.stdin.write(np.ascontiguousarray(frame).tobytes())
            found.frames += 1
            index += 1
            ok, frame = capture.read()
    finally:
        capture.release()
        encoder.stdin.close()
        code = encoder.wait()
    if code != 0:
        error = (encoder.stderr.read() if encoder.stderr else b"").decode("utf-8", "replace")[-300:]
        raise ValueError(f"re-encoding failed: {error}")
    return found


def redact_file(source: Path, dest: Path, *, content_type: str) -> Found:
    if content_type.startswith("video/"):
        return redact_video(source, dest)
    return redact_image(source, dest)
