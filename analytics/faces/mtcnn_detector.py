"""Face detector on MTCNN from ``facenet-pytorch`` (P-, R- and O-Net; weights shipped in its ``data/`` folder).

Runs on the CPU with ``keep_all``: every face above the three stages' thresholds, with its
probability and five landmarks (eyes, nose, mouth corners). ``min_face_px`` sets the smallest face
searched for: the image pyramid starts there, so a larger minimum is also a cheaper search.
``threads`` sets torch's CPU threads for the whole process (torch has one pool); none leaves it alone.
Nothing is downloaded: a missing package or weights file is a :class:`MissingFaceModelError`.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from analytics.faces.base import Face, FaceDetector, MissingFaceModelError, as_bgr

_WEIGHTS = ("pnet.pt", "rnet.pt", "onet.pt")


class MtcnnFaceDetector(FaceDetector):
    name = "mtcnn"

    def __init__(
        self, *, min_face_px: int = 20, thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7), threads: int | None = None
    ) -> None:
        if min_face_px < 12:
            raise ValueError(f"min_face_px must be at least 12 (MTCNN's smallest window), got {min_face_px}")
        try:
            import facenet_pytorch
            import torch
        except ImportError as exc:
            raise MissingFaceModelError(
                f"the MTCNN face detector needs facenet-pytorch and torch ({exc}): "
                "pip install --no-deps facenet-pytorch==2.6.0 (see requirements-models.txt)"
            ) from exc
        data = Path(facenet_pytorch.__file__).resolve().parent / "data"
        missing = [name for name in _WEIGHTS if not (data / name).is_file()]
        if missing:
            raise MissingFaceModelError(f"MTCNN weights missing in {data}: {', '.join(missing)} (reinstall facenet-pytorch)")
        from facenet_pytorch import MTCNN

        if threads is not None:
            # torch's pool is per process and spins while it waits: with several cameras' processes on
            # few cores, one thread each is faster than each taking all cores (the default).
            torch.set_num_threads(threads)
        self._torch = torch
        self._mtcnn: Any = MTCNN(
            keep_all=True, select_largest=False, min_face_size=min_face_px, thresholds=list(thresholds), device="cpu"
        )
        self._mtcnn.eval()
        self._model = f"MTCNN (facenet-pytorch {version('facenet-pytorch')}, torch {torch.__version__}, CPU)"

    @property
    def model(self) -> str:
        return self._model

    def detect(self, image: np.ndarray) -> list[Face]:
        rgb = cv2.cvtColor(as_bgr(image), cv2.COLOR_BGR2RGB)
        boxes, probs, points = self._mtcnn.detect(rgb, landmarks=True)
        if boxes is None:
            return []
        faces = [
            Face(
                box=tuple(float(v) for v in np.asarray(box, dtype=np.float64)[:4]),  # type: ignore[arg-type]
                probability=float(prob),
                landmarks=tuple((float(x), float(y)) for x, y in np.asarray(point, dtype=np.float64).reshape(-1, 2)),
            )
            for box, prob, point in zip(boxes, probs, points, strict=True)
        ]
        return sorted(faces, key=lambda f: -f.probability)
