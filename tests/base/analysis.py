"""Rows of the analysis results and settings for the generic API cases and the slice's tests."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from cameras.models import Camera
from portal.models import Ward
from tests.base.factories import camera_in

_seq = itertools.count(1)
T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def new_camera(ward: Ward, prefix: str = "AN") -> Camera:
    return camera_in(ward, code=f"{prefix}-{Camera.objects.count()}-{next(_seq)}")


def settings_in(ward: Ward, **kwargs: Any) -> Any:
    from analytics.models import AnalysisSettings

    camera = kwargs.pop("camera", None) or new_camera(ward)
    return AnalysisSettings.objects.create(ward=ward, camera=camera, **kwargs)


def track_in(ward: Ward, camera: Camera | None = None, **kwargs: Any) -> Any:
    from analytics.models import Track

    n = next(_seq)
    values: dict[str, Any] = {
        "cls": "person",
        "first_seen": T0 + dt.timedelta(minutes=n),
        "last_seen": T0 + dt.timedelta(minutes=n, seconds=8),
        "dwell_s": 8.0,
        "path": [[0, 10, 20], [8, 200, 220]],
        "model": "people",
    }
    values.update(kwargs)
    return Track.objects.create(ward=ward, camera=camera or new_camera(ward), source=f"live:spec:{n}", key=str(n), **values)


def plate_read_in(ward: Ward, camera: Camera | None = None, plate: str = "51F-123.45", **kwargs: Any) -> Any:
    from analytics.models import PlateRead
    from analytics.plates.grammar import normalise, search_key

    n = next(_seq)
    values: dict[str, Any] = {"confidence": 0.9, "seen_at": T0 + dt.timedelta(minutes=n), "model": "rapidocr"}
    values.update(kwargs)
    return PlateRead.objects.create(
        ward=ward,
        camera=camera or new_camera(ward),
        source=f"live:spec:{n}",
        key=str(n),
        plate=plate,
        text=normalise(plate),
        search_key=search_key(plate),
        **values,
    )


def face_in(ward: Ward, camera: Camera | None = None, **kwargs: Any) -> Any:
    from analytics.models import FaceSighting

    n = next(_seq)
    values: dict[str, Any] = {"confidence": 0.99, "seen_at": T0 + dt.timedelta(minutes=n), "embedding": [0.01] * 128}
    values.update(kwargs)
    return FaceSighting.objects.create(
        ward=ward, camera=camera or new_camera(ward), source=f"live:spec:{n}", key=str(n), model="mtcnn+dlib", **values
    )


def segment_in(ward: Ward, camera: Camera | None = None, **kwargs: Any) -> Any:
    from cameras.models import RecordingSegment

    n = next(_seq)
    camera = camera or new_camera(ward)
    started = kwargs.pop("started_at", T0 + dt.timedelta(minutes=n))
    return RecordingSegment.objects.create(
        ward=ward,
        camera=camera,
        path=f"recordings/{ward.pk}/{camera.pk}/{n}.mkv",
        started_at=started,
        ended_at=kwargs.pop("ended_at", started + dt.timedelta(seconds=60)),
        size=1000,
        **kwargs,
    )


def now() -> dt.datetime:
    return timezone.now()
