"""MOG2 background subtraction on a small grey copy of the frame (DESIGN.md §4 and §10).

Frigate's lesson: motion only has to say *whether* and roughly *where* something moves, so it works
on a small grey frame. Here the copy is every n-th pixel of the green channel (luma is mostly green),
n = height / ``frame_height`` rounded: 8 for 576 lines with the default 72, so 96×72. Two costs
decided this (``bench/motion.py`` measures both): scaling with cv2.resize (area averaging costs more
than MOG2 itself at 768×576; even nearest + cvtColor is ~4× this strided copy), and MOG2, which
dominates and scales with pixels: at ~100 px high (133×100) it alone costs the 0.3 ms bar, and the
gate around it (copy, blur, regions) needs the rest; at 72 px high it still sees an 8×16 px figure
walk, in the frame it moves.

The copy gets a 3×3 box blur (``smooth``): each small pixel comes from a different 8×8 codec block,
and averaging neighbours damps the block-wise jump of a refreshed H.264 key frame and sensor noise,
which otherwise wake the gate on a still scene. MOG2 runs without shadow detection; privacy and
ignore polygons are cut out of its foreground, which is dilated so that the fragments of one walker
join; blobs whose box is smaller than ``min_area`` of the frame (a flickering pixel) are dropped, and
the rest go back to full-size pixels.

Quietness comes from MOG2's own per-pixel variance: with the automatic learning rate (1/frames seen,
then 1/history) a still scene's model settles within the first frames, and a change stands out in
the very frame it happens. The first frame is all new, so it is reported as moving (the detector gets
one look at the scene).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from analytics.pipeline.base import Box, Frame, MotionGate, MotionResult
from analytics.pipeline.config import MaskConfig, MotionConfig


class Mog2MotionGate(MotionGate):
    def __init__(self, config: MotionConfig, masks: Sequence[MaskConfig] = ()) -> None:
        self.config = config
        self.masks = tuple(masks)
        self._mog = self._new_model()
        self._full: tuple[int, int] = (0, 0)  # width, height of the frames seen
        self._small: tuple[int, int] = (0, 0)
        self._step = 1
        self._mask: np.ndarray | None = None  # 255 where motion counts, 0 under a mask; None: no masks
        self._min_px = 1.0
        self._kernel = np.ones((3, 3), np.uint8)
        self._rate = -1.0 if config.learning_rate is None else config.learning_rate

    def _new_model(self) -> cv2.BackgroundSubtractorMOG2:
        c = self.config
        mog = cv2.createBackgroundSubtractorMOG2(history=c.history, varThreshold=c.var_threshold, detectShadows=False)
        mog.setVarMin(c.var_min)
        return mog

    def _setup(self, width: int, height: int) -> None:
        """Size the small copy and rasterise the masks for a new frame size (and start a new model)."""
        self._step = step = max(1, round(height / self.config.frame_height))
        small_w, small_h = -(-width // step), -(-height // step)
        self._full, self._small = (width, height), (small_w, small_h)
        self._min_px = max(1.0, self.config.min_area * small_w * small_h)
        self._mask = None
        if self.masks:
            mask = np.full((small_h, small_w), 255, np.uint8)
            polygons = [np.round(np.array(m.polygon, np.float64) / step).astype(np.int32) for m in self.masks]
            cv2.fillPoly(mask, polygons, 0)
            self._mask = mask
        self._mog = self._new_model()

    def update(self, frame: Frame) -> MotionResult:
        image = frame.image
        height, width = image.shape[:2]
        if (width, height) != self._full:
            self._setup(width, height)
        step = self._step
        small = np.ascontiguousarray(image[::step, ::step, 1] if image.ndim == 3 else image[::step, ::step])
        if self.config.smooth > 1:
            small = cv2.blur(small, (self.config.smooth, self.config.smooth))
        foreground = self._mog.apply(small, learningRate=self._rate)
        if self._mask is not None:
            cv2.bitwise_and(foreground, self._mask, dst=foreground)
        count = cv2.countNonZero(foreground)
        fraction = count / (self._small[0] * self._small[1])
        if count < self._min_px:
            return MotionResult(False, (), fraction)
        grow = self.config.dilate
        joined = cv2.dilate(foreground, self._kernel, iterations=grow) if grow else foreground
        contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        regions: list[Box] = []
        min_px, (small_w, small_h) = self._min_px, self._small
        for x, y, w, h in map(cv2.boundingRect, contours):
            # Undo the dilation (a pixel a side per pass, except where the frame's edge stopped it) to get
            # the blob's own box, which must reach min_area: lone flickering pixels never do.
            x1, y1 = (x + grow if x > 0 else 0), (y + grow if y > 0 else 0)
            x2 = x + w - grow if x + w < small_w else small_w
            y2 = y + h - grow if y + h < small_h else small_h
            if (x2 - x1) * (y2 - y1) < min_px:
                continue
            regions.append(Box(float(x1 * step), float(y1 * step), float(min(width, x2 * step)), float(min(height, y2 * step))))
        return MotionResult(bool(regions), tuple(regions), fraction)
