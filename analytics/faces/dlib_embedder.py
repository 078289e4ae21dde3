"""128-d face embeddings with dlib's ResNet (``dlib-bin``, models from ``face_recognition_models``).

dlib's 5-point shape predictor finds the eye corners and the nose under the detector's box; the
face is aligned on them into a 150 px chip and the ResNet (99.38% on LFW) turns it into 128 numbers
such that pictures of one person lie within about 0.6 of each other (:func:`.base.distance`).

The model files are located without importing ``face_recognition_models`` (whose ``__init__`` needs
``pkg_resources``, gone from recent setuptools): only its installed folder is used. Nothing is
downloaded: a missing package or file is a :class:`MissingFaceModelError`.
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from analytics.faces.base import Face, FaceEmbedder, MissingFaceModelError, as_bgr

SHAPE_PREDICTOR = "shape_predictor_5_face_landmarks.dat"
RESNET = "dlib_face_recognition_resnet_model_v1.dat"


def models_dir() -> Path:
    """The ``models`` folder of the installed ``face_recognition_models`` package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise MissingFaceModelError("face_recognition_models is not installed: pip install face_recognition_models==0.3.0")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class DlibFaceEmbedder(FaceEmbedder):
    name = "dlib"
    dimensions = 128

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise MissingFaceModelError(f"the face embedder needs dlib ({exc}): pip install dlib-bin==20.0.1.post1") from exc
        folder = models_dir()
        for file in (SHAPE_PREDICTOR, RESNET):
            if not (folder / file).is_file():
                raise MissingFaceModelError(f"dlib model missing: {folder / file} (reinstall face_recognition_models)")
        self._dlib: Any = dlib
        self._shape = dlib.shape_predictor(str(folder / SHAPE_PREDICTOR))
        self._resnet = dlib.face_recognition_model_v1(str(folder / RESNET))
        self._model = f"dlib {dlib.__version__} ResNet v1 + 5-point landmarks (face_recognition_models {version('face_recognition_models')})"

    @property
    def model(self) -> str:
        return self._model

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        rgb = np.ascontiguousarray(cv2.cvtColor(as_bgr(image), cv2.COLOR_BGR2RGB))
        x1, y1, x2, y2 = (round(v) for v in face.box)
        if x2 - x1 < 2 or y2 - y1 < 2:
            raise ValueError(f"face box {face.box} is too small to embed")
        shape = self._shape(rgb, self._dlib.rectangle(x1, y1, x2, y2))
        return np.asarray(self._resnet.compute_face_descriptor(rgb, shape), dtype=np.float64)
