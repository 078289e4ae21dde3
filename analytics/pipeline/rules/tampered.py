"""``tampered``: the picture is black, frozen or covered for ``seconds`` (DESIGN.md §4).

Measured on a small grey copy (every n-th pixel of the green channel, ~100 px high): its mean
brightness (dark below ``dark_level``), the mean change from the previous frame (frozen below
``frozen_diff``: a hung encoder or a looped still repeats the same picture, while a live sensor always
adds noise), and the variance of its Laplacian (covered below ``covered_sharpness``: a hand, a bag,
paint or a lens turned to a wall leave no edges). A condition fires once it has held on at least
80% of the frames of the last ``seconds`` (one refreshed key frame must not reset a frozen stream) and
re-arms when it holds on fewer than half. Dark pictures are reported as dark, not covered.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from analytics.pipeline.base import Frame, Rule, RuleHit, Track
from analytics.pipeline.config import LineConfig, TamperedConfig, ZoneConfig

CONDITIONS = ("dark", "frozen", "covered")
FIRE_SHARE, CLEAR_SHARE = 0.8, 0.5
SMALL_HEIGHT = 100


def measure(image: np.ndarray, previous: np.ndarray | None) -> tuple[np.ndarray, float, float, float]:
    """(small grey copy, mean brightness, mean change from ``previous``, Laplacian variance)."""
    step = max(1, round(image.shape[0] / SMALL_HEIGHT))
    small = np.ascontiguousarray(image[::step, ::step, 1] if image.ndim == 3 else image[::step, ::step])
    brightness = float(small.mean())
    change = float("inf") if previous is None or previous.shape != small.shape else float(cv2.absdiff(small, previous).mean())
    sharpness = float(cv2.Laplacian(small, cv2.CV_32F).var())
    return small, brightness, change, sharpness


class TamperedRule(Rule):
    type = "tampered"

    def __init__(self, config: TamperedConfig, zones: Mapping[str, ZoneConfig], lines: Mapping[str, LineConfig]) -> None:
        self.config = config
        self.name = config.name
        self._previous: np.ndarray | None = None
        self._window: deque[tuple[float, dict[str, bool]]] = deque()
        self._active: set[str] = set()
        self._started: float | None = None

    def update(self, tracks: Sequence[Track], frame: Frame) -> list[RuleHit]:
        c, now = self.config, frame.timestamp
        self._previous, brightness, change, sharpness = measure(frame.image, self._previous)
        dark = brightness < c.dark_level
        state = {"dark": dark, "frozen": change < c.frozen_diff, "covered": not dark and sharpness < c.covered_sharpness}
        self._window.append((now, state))
        while now - self._window[0][0] > c.seconds:
            self._window.popleft()
        if self._started is None:
            self._started = now
        if now - self._started < c.seconds - 1e-6:  # not yet a full window of evidence
            return []
        hits: list[RuleHit] = []
        n = len(self._window)
        for condition in CONDITIONS:
            share = sum(s[condition] for _, s in self._window) / n
            if condition in self._active:
                if share < CLEAR_SHARE:
                    self._active.discard(condition)
            elif share >= FIRE_SHARE:
                self._active.add(condition)
                hits.append(
                    RuleHit(
                        rule=self.name,
                        type=self.type,
                        timestamp=now,
                        frame_index=frame.index,
                        details={
                            "condition": condition,
                            "share": round(share, 2),
                            "brightness": round(brightness, 1),
                            "change": round(change, 3) if change != float("inf") else None,
                            "sharpness": round(sharpness, 1),
                        },
                    )
                )
        return hits
