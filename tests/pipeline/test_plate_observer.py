"""The plate observer on vehicle tracks: real RapidOCR models, rendered Vietnamese plates on real footage.

The frame is vtest.avi's first picture with two vehicle-shaped boxes painted on it (a car body with
a windscreen and a one-line plate, a motorbike with a two-line plate), plates drawn by the same
renderer the plate-reader tests use. About 5 s: one reader for the module.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Self

import cv2
import numpy as np
import pytest

from analytics.pipeline.base import Box, Detection, Detector, Frame, Track
from analytics.pipeline.config import PipelineConfig, PlatesConfig
from analytics.pipeline.observers.plates import PlateObserver
from analytics.pipeline.runner import Pipeline
from analytics.pipeline.sources.memory import MemorySource
from analytics.plates import PlateRead, PlateReader, search_key
from analytics.plates.rapidocr_reader import RapidOCRPlateReader
from tests.plates.render import PlateSpec, render

CAR = PlateSpec("car", ("51F-123.45",), "51F-123.45")
BIKE = PlateSpec("motorbike", ("59-X1", "234.56"), "59-X1 234.56")


class Scene:
    def __init__(self, image: np.ndarray, vehicles: dict[str, Box], plates: dict[str, Box]) -> None:
        self.image = image
        self.vehicles = vehicles
        self.plates = plates


def paint_vehicle(image: np.ndarray, spec: PlateSpec, glyph: int, box: tuple[int, int, int, int], seed: int) -> Box:
    """A body, a windscreen and the plate low in the middle; returns the plate's box in the image."""
    x, y, w, h = box
    cv2.rectangle(image, (x, y), (x + w, y + h), (40, 40, 150), -1)
    cv2.rectangle(image, (x + 15, y + 10), (x + w - 15, y + h // 3), (90, 80, 70), -1)
    rendered = render(spec, glyph, rng=random.Random(seed), angle=0, warp=0.02)
    ph, pw = rendered.image.shape[:2]
    px, py = x + (w - pw) // 2, y + h - ph - 10
    image[py : py + ph, px : px + pw] = rendered.image
    x0, y0, x1, y1 = rendered.box  # the plate's outline, without the renderer's margin of bumper
    return Box(px + x0, py + y0, px + x1, py + y1)


@pytest.fixture(scope="module")
def scene(vtest_head: list[np.ndarray]) -> Scene:
    image = vtest_head[0].copy()
    car = paint_vehicle(image, CAR, 24, (60, 150, 260, 220), seed=5)
    bike = paint_vehicle(image, BIKE, 22, (450, 200, 150, 240), seed=6)
    return Scene(image, {"car": Box(60, 150, 320, 370), "bike": Box(450, 200, 600, 440)}, {"car": car, "bike": bike})


@pytest.fixture(scope="module")
def reader() -> RapidOCRPlateReader:
    return RapidOCRPlateReader()


class CountingReader(PlateReader):
    """Test scaffolding, not a feature: the real reader, counting its calls to prove what was not read."""

    name = "counting"

    def __init__(self, inner: PlateReader) -> None:
        self.inner = inner
        self.calls = 0

    @classmethod
    def from_config(cls, config: Any) -> Self:  # pragma: no cover - never built from a config
        raise NotImplementedError

    @property
    def model(self) -> str:
        return self.inner.model

    def read(self, image: np.ndarray) -> list[PlateRead]:
        self.calls += 1
        return self.inner.read(image)


def _track(track_id: int, cls: str, box: Box, t: float) -> Track:
    return Track(id=track_id, cls=cls, boxes=(box,), times=(t,), first_seen=0.0, last_seen=t, hits=3, confidence=0.9)


def _frame(scene: Scene, t: float) -> Frame:
    return Frame(index=round(t * 10), timestamp=t, image=scene.image)


def test_reads_the_plates_of_vehicle_tracks(scene: Scene, reader: RapidOCRPlateReader) -> None:
    observer = PlateObserver(PlatesConfig(), reader=reader)
    tracks = [_track(1, "car", scene.vehicles["car"], 0.0), _track(2, "motorbike", scene.vehicles["bike"], 0.0)]
    sightings = {s.track_id: s for s in observer.update(tracks, _frame(scene, 0.0))}
    assert sorted(sightings) == [1, 2]
    for track_id, which, spec in ((1, "car", CAR), (2, "bike", BIKE)):
        s = sightings[track_id]
        assert (s.kind, s.text, s.key) == ("plate", spec.text, search_key(spec.text))
        assert s.raw and 0.3 <= s.confidence <= 1.0
        assert s.box.iou(scene.plates[which]) > 0.5, (s.box, scene.plates[which])  # frame pixels, not crop pixels
        assert s.crop.shape[:2] == (round(s.box.height), round(s.box.width))
        assert "rapidocr" in s.model


def test_looks_again_only_after_every_s_and_stops_after_a_good_read(scene: Scene, reader: RapidOCRPlateReader) -> None:
    counting = CountingReader(reader)
    observer = PlateObserver(PlatesConfig(every_s=0.5, good_confidence=1.0), reader=counting)
    box = scene.vehicles["car"]
    assert [s.text for s in observer.update([_track(1, "car", box, 0.0)], _frame(scene, 0.0))] == [CAR.text]
    assert observer.update([_track(1, "car", box, 0.2)], _frame(scene, 0.2)) == []
    assert counting.calls == 1  # within every_s: not read at all
    observer.update([_track(1, "car", box, 0.6)], _frame(scene, 0.6))
    assert counting.calls == 2  # read again; the same read is no improvement, so nothing new is reported

    satisfied = PlateObserver(PlatesConfig(every_s=0.0, good_confidence=0.5), reader=counting)
    assert len(satisfied.update([_track(1, "car", box, 0.0)], _frame(scene, 0.0))) == 1
    for t in (1.0, 2.0, 3.0):
        assert satisfied.update([_track(1, "car", box, t)], _frame(scene, t)) == []
    assert counting.calls == 3  # a good read ends the looks at that track


def test_skips_small_boxes_and_people(scene: Scene, reader: RapidOCRPlateReader) -> None:
    counting = CountingReader(reader)
    observer = PlateObserver(PlatesConfig(min_height=48), reader=counting)
    car = scene.vehicles["car"]
    tiny = Box(car.x1, car.y2 - 40, car.x2, car.y2)  # 40 px high: the plate is in it, but a real 40-px car has none legible
    person = _track(3, "person", car, 0.0)  # a person box over a plate (someone in front of a car) is not read
    assert observer.update([_track(1, "car", tiny, 0.0), person], _frame(scene, 0.0)) == []
    assert counting.calls == 0


def test_at_most_max_per_frame_crops_waiting_tracks_first(scene: Scene, reader: RapidOCRPlateReader) -> None:
    counting = CountingReader(reader)
    observer = PlateObserver(PlatesConfig(max_per_frame=1, every_s=0.0, good_confidence=1.0), reader=counting)
    tracks = [_track(1, "car", scene.vehicles["car"], 0.0), _track(2, "motorbike", scene.vehicles["bike"], 0.0)]
    first = observer.update(tracks, _frame(scene, 0.0))
    second = observer.update([_track(t.id, t.cls, t.box, 0.2) for t in tracks], _frame(scene, 0.2))
    assert counting.calls == 2
    assert {s.track_id for s in first + second} == {1, 2}  # the one not yet read goes first on the next frame


class FixedDetector(Detector):
    """Test scaffolding, not a feature: "detects" the given boxes on every frame, to drive the real
    tracker and observer through the pipeline without a vehicle model in the loop."""

    def __init__(self, detections: Sequence[Detection]) -> None:
        self.detections = list(detections)

    @property
    def name(self) -> str:
        return "fixed boxes (test)"

    def detect(self, image: np.ndarray, regions: Sequence[Box] | None = None) -> list[Detection]:
        return list(self.detections)


def test_pipeline_builds_the_observer_from_its_config(scene: Scene) -> None:
    assert Pipeline(PipelineConfig(), MemorySource([scene.image])).observers == []  # off unless configured
    config = PipelineConfig(plates=PlatesConfig())
    detector = FixedDetector([Detection(scene.vehicles["car"], "car", 0.9, "fixed")])
    pipeline = Pipeline(
        config, MemorySource([scene.image] * 20, config.analysis_fps, source_fps=10), detector=detector, gate=False
    )
    assert [type(o) for o in pipeline.observers] == [PlateObserver]
    summary = pipeline.run()
    assert summary.as_dict()["plates"] == [CAR.text]
    [sighting] = summary.sightings.values()
    assert sighting.kind == "plate" and sighting.key == search_key(CAR.text)
