"""Footage for tests and benchmarks: the sample clip of DESIGN.md §11 and the "quiet clip" of §10.

The quiet clip is 300 frames of one still picture, then 100 frames of movement: a gate must stay
silent on the still part once settled (2 s) and react in the frame where movement starts. Built
here from ``vtest.avi`` itself: its first frame held still, then its next 100 frames (the walkers
move on from where they stood), optionally with sensor noise, or encoded to H.264 by ffmpeg so that
codec noise and key-frame refreshes are in it too.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")  # 768×576, 795 frames, 10 fps (Debian opencv-doc)
VTEST_FPS = 10.0
QUIET_STILL, QUIET_MOVING = 300, 100


def read_frames(path: str | Path = VTEST, limit: int | None = None) -> list[np.ndarray]:
    """Every frame of a video, decoded (BGR)."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    frames: list[np.ndarray] = []
    try:
        while limit is None or len(frames) < limit:
            ok, image = cap.read()
            if not ok:
                break
            frames.append(image)
    finally:
        cap.release()
    return frames


def quiet_clip(
    frames: Sequence[np.ndarray], *, still: int = QUIET_STILL, moving: int = QUIET_MOVING, noise: float = 0.0, seed: int = 0
) -> list[np.ndarray]:
    """``frames[0]`` repeated ``still`` times, then ``frames[1 : moving + 1]``; with ``noise`` > 0, every
    frame gets its own Gaussian sensor noise of that standard deviation (grey levels)."""
    if len(frames) < moving + 1:
        raise ValueError(f"need {moving + 1} frames, got {len(frames)}")
    clip = [frames[0]] * still + list(frames[1 : moving + 1])
    if noise <= 0:
        return clip
    # Independent noise for 400 full frames costs ~20 s; one of 8 pre-drawn fields, picked at random
    # for each frame and applied with saturating adds, is as good for a background model and ~100× cheaper.
    rng = np.random.default_rng(seed)
    fields = []
    for _ in range(8):
        values = np.round(rng.standard_normal(clip[0].shape, dtype=np.float32) * noise)
        fields.append((np.clip(values, 0, 255).astype(np.uint8), np.clip(-values, 0, 255).astype(np.uint8)))
    noisy = []
    for image in clip:
        up, down = fields[int(rng.integers(len(fields)))]
        noisy.append(cv2.subtract(cv2.add(image, up), down))
    return noisy


def encode(
    frames: Sequence[np.ndarray], path: str | Path, fps: float = VTEST_FPS, *, crf: int = 23, preset: str = "veryfast"
) -> Path:
    """Write ``frames`` as H.264 (ffmpeg, libx264, a key frame every 2 s like many cameras)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError("ffmpeg is not installed (Debian package ffmpeg)")
    height, width = frames[0].shape[:2]
    gop = str(max(1, round(2 * fps)))
    command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24"]
    command += ["-s", f"{width}x{height}", "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", preset]
    command += ["-crf", str(crf), "-g", gop, "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(command, input=b"".join(f.tobytes() for f in frames), check=True, timeout=120)  # noqa: S603
    return Path(path)
