"""``motion-blobs``: the always-available fallback detector, built from the motion gate's regions.

It needs no model and knows no kinds: every moving blob is an object of class ``other`` with
confidence 1.0 (certainly motion, not certainly an object), and its name is reported as the model
used, so that a camera running on it is never mistaken for one running YOLO (DESIGN.md §4). It sees
only what moves: given no regions it finds nothing, and a region covering most of the frame (the
first frame, a light switched on, the camera knocked) is a change of scene, not an object.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analytics.pipeline.base import Box, Detection, Detector
from analytics.pipeline.config import DetectorConfig

MAX_FRAME_SHARE = 0.5  # a blob larger than this share of the frame is a scene change


class BlobDetector(Detector):
    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()

    @property
    def name(self) -> str:
        return "motion-blobs"

    def detect(self, image: np.ndarray, regions: Sequence[Box] | None = None) -> list[Detection]:
        if not regions:
            return []
        frame_area = float(image.shape[0] * image.shape[1])
        min_size = self.config.min_size
        return [
            Detection(box=r, cls="other", confidence=1.0, model=self.name)
            for r in regions
            if min(r.width, r.height) >= min_size and r.area <= MAX_FRAME_SHARE * frame_area
        ]
