"""The ByteTrack tracker on hand-made detections: ids, history, direction, labels, held tracks."""

from __future__ import annotations

from analytics.pipeline.base import Box, Detection, Track
from analytics.pipeline.config import TrackerConfig
from analytics.pipeline.trackers.bytetrack import ByteTracker


def det(x: float, y: float, w: float = 40, h: float = 90, cls: str = "person", conf: float = 0.8, label: str = "") -> Detection:
    return Detection(Box(x, y, x + w, y + h), cls, conf, "test", label)


def run(
    tracker: ByteTracker, frames: list[list[Detection]], fps: float = 5.0, searched: list[Box] | None = None
) -> list[list[Track]]:
    return [tracker.update(dets, i / fps, searched) for i, dets in enumerate(frames)]


def by_id(out: list[list[Track]]) -> dict[int, list[Track]]:
    tracks: dict[int, list[Track]] = {}
    for frame in out:
        for t in frame:
            tracks.setdefault(t.id, []).append(t)
    return tracks


def test_two_walkers_keep_their_ids_with_history_direction_and_dwell() -> None:
    frames = [[det(100 + 8 * i, 100), det(500 - 8 * i, 300, label="Normal")] for i in range(20)]
    tracks = by_id(run(ByteTracker(TrackerConfig(name="bytetrack")), frames))
    assert len(tracks) == 2
    right, left = sorted(tracks.values(), key=lambda ts: ts[-1].velocity[0], reverse=True)
    assert right[-1].direction == "right" and left[-1].direction == "left"
    assert abs(right[-1].velocity[0] - 40.0) < 1e-6  # 8 px a frame at 5 fps
    assert right[-1].dwell > 3.5 and len(right[-1].boxes) == right[-1].hits
    assert right[-1].box == Box(252, 100, 292, 190)  # the detection's own box, not a Kalman estimate
    assert left[-1].label == "Normal" and left[-1].cls == "person"


def test_the_latest_label_and_the_voted_class_are_carried() -> None:
    labels = ["Normal"] * 5 + ["Fall"] * 3
    frames = [[det(200, 200, cls="car" if i == 3 else "person", label=label)] for i, label in enumerate(labels)]
    last = run(ByteTracker(TrackerConfig(name="bytetrack")), frames)[-1][0]
    assert last.label == "Fall" and last.cls == "person"  # one "car" does not flip a person track


def test_a_track_lost_briefly_is_found_again_and_one_gone_too_long_is_not() -> None:
    config = TrackerConfig(name="bytetrack", buffer_s=1.0)
    gap = [[det(100 + 5 * i, 100)] for i in range(5)] + [[]] * 3 + [[det(140 + 5 * i, 100)] for i in range(5)]
    assert len(by_id(run(ByteTracker(config), gap))) == 1
    long_gap = [[det(100, 100)]] * 5 + [[]] * 10 + [[det(100, 100)]] * 5
    assert len(by_id(run(ByteTracker(config), long_gap))) == 2


def test_a_still_track_outside_the_searched_area_is_held_not_aged() -> None:
    tracker = ByteTracker(TrackerConfig(name="bytetrack", buffer_s=1.0))
    parked = det(600, 400, 120, 80, cls="car")
    for i in range(5):
        tracker.update([parked], i / 5)
    elsewhere = [Box(0, 0, 100, 100)]
    for i in range(5, 40):  # 7 s where only the top-left corner moves
        held = tracker.update([], i / 5, elsewhere)
        assert [t.held for t in held] == [True] and held[0].id == 1 and held[0].direction == "still"
    assert held[0].dwell > 7.0
    back = tracker.update([parked], 8.0, None)
    assert [t.id for t in back] == [1] and not back[0].held
    # Looked for and not found: it ages out like any lost track.
    for i in range(41, 60):
        gone = tracker.update([], i / 5, None)
    assert gone == []
