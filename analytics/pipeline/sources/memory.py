"""``memory``: frames already decoded (a list of BGR arrays), sampled like a file by index / fps.

For synthetic clips in tests and benchmarks, and for frames another component decoded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import numpy as np

from analytics.pipeline.base import Frame, FrameSource, SourceHealth


class MemorySource(FrameSource):
    def __init__(self, images: Sequence[np.ndarray], fps: float = 5.0, *, source_fps: float = 10.0) -> None:
        if fps <= 0 or source_fps <= 0:
            raise ValueError("fps and source_fps must be positive")
        self.images = images
        self.fps = fps
        self.source_fps = source_fps
        self._read = self._delivered = 0
        self._last_frame_at: float | None = None

    def frames(self) -> Iterator[Frame]:
        step, tolerance, due = 1.0 / self.fps, 0.25 / self.source_fps, 0.0
        for index, image in enumerate(self.images):
            self._read += 1
            ts = index / self.source_fps
            if ts + tolerance < due:
                continue
            due += step
            if due <= ts:
                due = ts + step
            self._delivered += 1
            self._last_frame_at = time.time()
            yield Frame(index=index, timestamp=ts, image=image)

    def health(self) -> SourceHealth:
        return SourceHealth(
            connected=True, last_frame_at=self._last_frame_at, frames_read=self._read, frames_delivered=self._delivered
        )
