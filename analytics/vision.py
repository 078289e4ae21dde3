"""The Django side of the vision pipeline: what a camera (or an uploaded clip) is analysed with.

A camera's :class:`~analytics.models.AnalysisSettings` (models, plates, faces, masks, zones, lines,
rules) plus the deployment's models (installed packages and ``settings.VISION_MODELS``) become one
validated :class:`~analytics.pipeline.config.PipelineConfig`; the pipeline itself never reads Django.

Faces run only where the camera's ward enabled them (DESIGN.md §7), whatever the camera asks for.
When no vision model is installed the detector falls back to motion blobs, and says so: the model
name travels with every result.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from pydantic import ValidationError as SchemaError

from analytics.pipeline.base import FrameSource
from analytics.pipeline.config import PipelineConfig
from analytics.pipeline.runner import Pipeline

if TYPE_CHECKING:
    from analytics.models import AnalysisSettings
    from cameras.models import Camera

log = logging.getLogger(__name__)

#: What an AnalysisSettings stores as JSON, validated as the pipeline's own schema.
GEOMETRY_FIELDS = ("masks", "zones", "lines", "rules")


@functools.cache
def available_models() -> Mapping[str, Any]:
    """Vision models by name: those found in installed packages, plus ``settings.VISION_MODELS``."""
    try:
        from analytics.pipeline.detectors.catalog import available_models as catalog
    except ImportError as exc:  # the YOLO stack is not installed: motion blobs only
        log.warning("no vision models: %s", exc)
        return {}
    return dict(catalog(settings.VISION_MODELS))


def default_model_names() -> list[str]:
    models = available_models()
    return [name for name in settings.VISION_DEFAULT_MODELS if name in models]


def _detector(names: list[str]) -> dict[str, Any]:
    models = available_models()
    unknown = [name for name in names if name not in models]
    if unknown:
        raise ValidationError(
            {
                "detectors": _("No vision model named %(names)s here; choose among: %(choices)s.")
                % {"names": ", ".join(unknown), "choices": ", ".join(sorted(models)) or _("none installed")}
            }
        )
    chosen = names or default_model_names()
    if not chosen:
        return {"name": "motion-blobs"}
    return {"name": "yolo", "models": [models[name].model_dump() for name in chosen], "cache_dir": str(settings.VISION_CACHE_DIR)}


def _schema_errors(exc: SchemaError) -> ValidationError:
    """Pydantic's errors keyed by our field names; each message says where and what to fix."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        field = loc[0] if loc and loc[0] in GEOMETRY_FIELDS else "__all__"
        where = ".".join(loc)
        message = str(error["msg"]).removeprefix("Value error, ")
        errors.setdefault(field, []).append(f"{where}: {message}" if where else message)
    return ValidationError(errors)


def pipeline_config(
    analysis: AnalysisSettings | None = None,
    *,
    camera: Camera | None = None,
    fps: float | None = None,
    data: Mapping[str, Any] | None = None,
) -> PipelineConfig:
    """The validated pipeline configuration; Django ``ValidationError`` (by field) when it is not valid.

    ``data`` overrides the stored settings' fields (a form or an API request being checked).
    """
    values: dict[str, Any] = {}
    if analysis is not None:
        values = {f: getattr(analysis, f) for f in (*GEOMETRY_FIELDS, "detectors", "read_plates", "detect_faces")}
        camera = camera or analysis.camera
    values.update(data or {})
    raw: dict[str, Any] = {f: values.get(f) or [] for f in GEOMETRY_FIELDS}
    raw["analysis_fps"] = fps or (camera.analysis_fps if camera is not None else 5.0)
    raw["detector"] = _detector(list(values.get("detectors") or []))
    if raw["detector"]["name"] == "yolo":
        raw["tracker"] = {"name": "bytetrack"}
    if values.get("read_plates", True):
        raw["plates"] = {}
    if values.get("detect_faces") and camera is not None and camera.ward.faces_enabled:
        raw["faces"] = {}
    known = set(PipelineConfig.model_fields)
    raw = {k: v for k, v in raw.items() if k in known}  # stages this installation does not have yet
    try:
        return PipelineConfig.model_validate(raw)
    except SchemaError as exc:
        raise _schema_errors(exc) from None


def build_pipeline(config: PipelineConfig, source: FrameSource, *, gate: bool = True) -> Pipeline:
    return Pipeline(config, source, gate=gate)
