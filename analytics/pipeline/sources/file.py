"""``file``: a video file read with OpenCV's FFmpeg backend, sampled to the analysis rate.

Before OpenCV sees the path it must name an existing, non-empty regular file (a FIFO or a device would
block; ``concat:``, ``pipe:`` and other FFmpeg protocols are never reached because the path handed over
is absolute). A file OpenCV cannot open, or whose first frame cannot be decoded, is refused with a
:class:`SourceError` saying so. Open and read timeouts bound every call into FFmpeg.

Frames are sampled by their media time (``CAP_PROP_POS_MSEC``, or index / fps where the container
gives no usable times): one frame is kept each 1/``fps`` seconds; the others are grabbed (decoded)
but not converted to BGR. A file that ends well before the frame count its header declares is
truncated or damaged: with ``verify=True`` the whole file is decoded once up front and refused before
any frame is delivered; otherwise the frames that could be read are delivered and the
:class:`SourceError` is raised at the end.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import cv2

from analytics.pipeline.base import Frame, FrameSource, SourceError, SourceHealth

#: A file may lack this many of the frames its header declares (rounding, a last partial frame)
#: before it counts as truncated: at least 2 frames, or 2% of the declared count.
MISSING_FRAMES, MISSING_SHARE = 2, 0.02


class FileSource(FrameSource):
    def __init__(self, path: str | os.PathLike[str], fps: float = 5.0, *, verify: bool = False, timeout_s: float = 10.0) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.fps = fps
        self.path = self._check_path(path)
        self.timeout_s = timeout_s
        self._delivered = self._read = 0
        self._last_frame_at: float | None = None
        self._started: float | None = None
        self._error: str | None = None
        self._closed = False
        cap = self._open()
        try:
            self.width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            self.height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            self.native_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            self.declared_frames = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
            if not cap.grab() or cap.retrieve()[1] is None:
                raise SourceError(f"{self.path.name}: no frame could be decoded; the file is damaged or not a video", "no_frames")
            if verify:
                count = 1
                while cap.grab():
                    count += 1
                self._check_complete(count)
        finally:
            cap.release()

    @property
    def duration_s(self) -> float:
        return self.declared_frames / self.native_fps if self.native_fps > 0 else 0.0

    @staticmethod
    def _check_path(path: str | os.PathLike[str]) -> Path:
        given = Path(path)
        try:
            info = given.stat()
        except FileNotFoundError:
            raise SourceError(f"{given.name}: no such file; check the path", "missing") from None
        except OSError as exc:
            raise SourceError(
                f"{given.name}: cannot be read ({exc.strerror}); check the path and its permissions", "unreadable"
            ) from None
        if not stat.S_ISREG(info.st_mode):
            raise SourceError(f"{given.name}: not a regular file (a directory, pipe or device); give a video file", "not_file")
        if info.st_size == 0:
            raise SourceError(f"{given.name}: the file is empty (0 bytes); upload the video again", "empty")
        if not os.access(given, os.R_OK):
            raise SourceError(f"{given.name}: no permission to read it", "unreadable")
        return given.resolve()

    def _open(self) -> cv2.VideoCapture:
        ms = int(self.timeout_s * 1000)
        cap = cv2.VideoCapture(
            str(self.path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        )
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"{self.path.name}: not a video file OpenCV/FFmpeg can open (unknown format or damaged header)", "not_video"
            )
        return cap

    def _check_complete(self, count: int) -> None:
        declared = self.declared_frames
        if declared and declared - count > max(MISSING_FRAMES, MISSING_SHARE * declared):
            fps = self.native_fps or 1.0
            raise SourceError(
                f"{self.path.name}: the video ends after {count} of its {declared} frames "
                f"({count / fps:.1f} s of {declared / fps:.1f} s); the file is truncated or damaged, upload it again",
                "truncated",
            )

    def frames(self) -> Iterator[Frame]:
        cap = self._open()
        self._started = time.monotonic()
        step = 1.0 / self.fps
        native = self.native_fps if self.native_fps > 0 else 25.0
        tolerance = 0.25 / native
        due = 0.0
        index = -1
        last_ts = -1.0
        by_index = False
        try:
            while not self._closed and cap.grab():
                index += 1
                self._read += 1
                ts = -1.0 if by_index else round(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, 6)
                if ts <= last_ts:  # no usable container times: fall back to index / fps for the whole file
                    by_index = True
                    ts = round(index / native, 6)
                last_ts = ts
                if index == 0:
                    due = ts
                if ts + tolerance < due:
                    continue
                ok, image = cap.retrieve()
                if not ok or image is None:
                    break
                due += step
                if due <= ts:  # after a gap in the media times: resume the rhythm from here, no burst
                    due = ts + step
                self._delivered += 1
                self._last_frame_at = time.time()
                yield Frame(index=index, timestamp=ts, image=image)
            if not self._closed:
                self._check_complete(index + 1)
        except SourceError as exc:
            self._error = str(exc)
            raise
        finally:
            cap.release()

    def health(self) -> SourceHealth:
        elapsed = time.monotonic() - self._started if self._started is not None else 0.0
        return SourceHealth(
            connected=not self._closed and self._error is None,
            last_frame_at=self._last_frame_at,
            fps=self._delivered / elapsed if elapsed > 0 else 0.0,
            input_fps=self._read / elapsed if elapsed > 0 else 0.0,
            frames_read=self._read,
            frames_delivered=self._delivered,
            error=self._error,
        )

    def close(self) -> None:
        self._closed = True
