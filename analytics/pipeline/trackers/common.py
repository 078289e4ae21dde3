"""What every tracker derives the same way from a track's recent history: velocity and direction."""

from __future__ import annotations

import math
from collections.abc import Sequence

from analytics.pipeline.base import Box


def velocity(times: Sequence[float], boxes: Sequence[Box], window: float) -> tuple[float, float, float]:
    """Velocity (px/s) of the box centre over about the last ``window`` seconds of matches, and its magnitude."""
    if len(times) < 2:
        return 0.0, 0.0, 0.0
    end = start = len(times) - 1
    while start > 0 and times[end] - times[start - 1] <= window + 1e-6:
        start -= 1
    if start == end:
        start = end - 1
    dt = times[end] - times[start]
    if dt <= 0:
        return 0.0, 0.0, 0.0
    (x0, y0), (x1, y1) = boxes[start].center, boxes[end].center
    vx, vy = (x1 - x0) / dt, (y1 - y0) / dt
    return vx, vy, math.hypot(vx, vy)


def direction(vx: float, vy: float, still: bool) -> str:
    """``still``, or the screen direction the track mostly moves in: ``left``, ``right``, ``up``, ``down``."""
    if still:
        return "still"
    if abs(vx) >= abs(vy):
        return "right" if vx > 0 else "left"
    return "down" if vy > 0 else "up"
