"""The motion-blob detector and the IoU tracker, on hand-made boxes."""

from __future__ import annotations

import numpy as np

from analytics.pipeline.base import Box, Detection, Track
from analytics.pipeline.config import DetectorConfig, TrackerConfig
from analytics.pipeline.detectors.blobs import BlobDetector
from analytics.pipeline.trackers.iou import IouTracker

IMAGE = np.zeros((576, 768, 3), np.uint8)


def det(x: float, y: float, w: float = 40, h: float = 90, cls: str = "person", conf: float = 0.9) -> Detection:
    return Detection(Box(x, y, x + w, y + h), cls, conf, "test")


def test_blobs_are_objects_of_class_other_from_the_named_model() -> None:
    detector = BlobDetector(DetectorConfig())
    assert detector.name == "motion-blobs"
    found = detector.detect(IMAGE, [Box(10, 10, 60, 110), Box(0, 0, 700, 560), Box(5, 5, 8, 8)])
    assert found == [Detection(Box(10, 10, 60, 110), "other", 1.0, "motion-blobs")]  # the scene change and the speck are dropped
    assert detector.detect(IMAGE, None) == [] and detector.detect(IMAGE, []) == []


def run(
    tracker: IouTracker, frames: list[list[Detection]], fps: float = 5.0, searched: list[Box] | None = None
) -> list[list[Track]]:
    return [tracker.update(dets, i / fps, searched) for i, dets in enumerate(frames)]


def test_a_walker_keeps_one_id_with_direction_speed_and_dwell() -> None:
    out = run(IouTracker(TrackerConfig()), [[det(100 + 10 * i, 200)] for i in range(10)])
    assert out[0] == []  # reported once matched min_hits (2) times
    ids = {t.id for tracks in out for t in tracks}
    assert ids == {1}
    last = out[-1][0]
    assert last.direction == "right" and abs(last.velocity[0] - 50.0) < 1e-6 and last.velocity[1] == 0
    assert abs(last.dwell - 1.8) < 1e-9 and last.hits == 10 and last.cls == "person"
    assert last.path[0] == (120.0, 245.0) and len(last.boxes) == 10


def test_two_walkers_crossing_the_picture_keep_their_ids() -> None:
    frames = [[det(100 + 12 * i, 100), det(500 - 12 * i, 300)] for i in range(20)]
    out = run(IouTracker(TrackerConfig()), frames)
    by_id: dict[int, list[Track]] = {}
    for tracks in out:
        for t in tracks:
            by_id.setdefault(t.id, []).append(t)
    assert sorted(by_id) == [1, 2]
    assert {by_id[1][-1].direction, by_id[2][-1].direction} == {"right", "left"}


def test_a_fast_object_is_followed_by_its_velocity() -> None:
    # 30 px a frame for a 40 px box: it no longer overlaps its last box much, the prediction does.
    out = run(IouTracker(TrackerConfig()), [[det(30 * i, 200, cls="car")] for i in range(15)])
    assert {t.id for tracks in out for t in tracks} == {1}


def test_a_lost_track_is_dropped_after_max_age_and_a_new_one_gets_a_new_id() -> None:
    tracker = IouTracker(TrackerConfig(max_age_s=1.0))
    frames: list[list[Detection]] = [[det(100, 200)]] * 5 + [[]] * 6 + [[det(100, 200)]] * 3
    out = run(tracker, frames)
    assert [len(t) for t in out] == [0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    assert out[4][0].id == 1 and out[-1][0].id == 2


def test_class_votes_keep_a_hesitating_detector_on_one_track() -> None:
    classes = ["car", "truck", "car", "car", "truck", "car"]
    out = run(IouTracker(TrackerConfig()), [[det(100 + 2 * i, 200, cls=c)] for i, c in enumerate(classes)])
    assert {t.id for tracks in out for t in tracks} == {1} and out[-1][0].cls == "car"


def test_a_still_track_is_held_where_nothing_was_searched() -> None:
    tracker = IouTracker(TrackerConfig(max_age_s=1.0))
    parked = [[det(300, 300, cls="car")]] * 5
    held = run(tracker, parked + [[]] * 20, searched=[])  # the scene went still: the detector never looked
    last = held[-1][0]
    assert last.held and last.id == 1 and last.direction == "still" and abs(last.dwell - 4.8) < 1e-9


def test_a_moving_track_that_vanishes_is_not_held() -> None:
    tracker = IouTracker(TrackerConfig(max_age_s=1.0))
    out = run(tracker, [[det(100 + 20 * i, 200)] for i in range(5)] + [[]] * 10, searched=[])
    assert out[-1] == []


def test_a_still_track_where_the_detector_looked_ages_out() -> None:
    tracker = IouTracker(TrackerConfig(max_age_s=1.0))
    out = run(tracker, [[det(300, 300)]] * 5 + [[]] * 10, searched=[Box(250, 250, 400, 450)])
    assert out[-1] == []
