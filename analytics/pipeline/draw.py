"""Annotated pictures of what the pipeline saw: zones, lines, tracked boxes with class and id.

Used for a clip's key frames and for alert snapshots, so that an officer sees why a rule fired.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from analytics.pipeline.base import Track
from analytics.pipeline.config import PipelineConfig

# BGR colours by class family; zones are drawn by kind.
_PERSON = (60, 200, 60)
_VEHICLE = (255, 160, 40)
_OTHER = (200, 200, 200)
_ZONE = {"intrusion": (40, 40, 230), "sidewalk": (0, 200, 255), "roadway": (200, 0, 200)}
_LINE = (0, 255, 255)


def _colour(cls: str) -> tuple[int, int, int]:
    if cls == "person":
        return _PERSON
    return _OTHER if cls == "other" else _VEHICLE


def annotate(
    image: np.ndarray, tracks: Sequence[Track], config: PipelineConfig | None = None, *, highlight: Sequence[int] = ()
) -> np.ndarray:
    """A copy of ``image`` with the config's zones and lines and each track's box, class and id;
    tracks in ``highlight`` (those a rule fired on) are drawn thicker."""
    out = image.copy()
    scale = max(1.0, out.shape[0] / 576)
    thin, thick = max(1, round(scale)), max(3, round(3 * scale))
    if config is not None:
        for zone in config.zones:
            pts = np.round(np.array(zone.polygon)).astype(np.int32)
            cv2.polylines(out, [pts], True, _ZONE.get(zone.kind, _OTHER), thin, cv2.LINE_AA)
            cv2.putText(
                out,
                zone.name,
                tuple(int(v) for v in pts[0]),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.45 * scale,
                _ZONE.get(zone.kind, _OTHER),
                thin,
            )
        for line in config.lines:
            a, b = (tuple(int(round(v)) for v in p) for p in line.points)
            cv2.line(out, a, b, _LINE, thin + 1, cv2.LINE_AA)
            cv2.putText(out, line.name, a, cv2.FONT_HERSHEY_SIMPLEX, 0.45 * scale, _LINE, thin)
    for track in tracks:
        box = track.box
        colour = _colour(track.cls)
        p1, p2 = (int(box.x1), int(box.y1)), (int(box.x2), int(box.y2))
        cv2.rectangle(out, p1, p2, colour, thick if track.id in highlight else thin)
        label = f"{track.cls} #{track.id}"
        cv2.putText(out, label, (p1[0], max(12, p1[1] - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45 * scale, colour, thin, cv2.LINE_AA)
    return out


def jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("the image could not be encoded as JPEG")
    return data.tobytes()
