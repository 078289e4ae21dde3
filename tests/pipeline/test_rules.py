"""Each rule on hand-made tracks and frames: what fires, when, how often."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import pytest

from analytics.pipeline.base import Box, Frame, Rule, RuleHit, Track
from analytics.pipeline.config import PipelineConfig
from analytics.pipeline.registry import build_rules

BLANK = np.zeros((8, 8, 3), np.uint8)
SQUARE = [[100, 100], [300, 100], [300, 300], [100, 300]]


def rule(kind: dict[str, Any], **scene: Any) -> Rule:
    data = {"zones": [{"name": "z", "kind": "sidewalk", "polygon": SQUARE}], **scene, "rules": [kind]}
    (built,) = build_rules(PipelineConfig.model_validate(data))
    return built


def at(track_id: int, x: float, y: float, cls: str = "person", t: float = 0.0) -> Track:
    """A track whose anchor (bottom centre of its box) is at (x, y)."""
    box = Box(x - 10, y - 40, x + 10, y)
    return Track(id=track_id, cls=cls, boxes=(box,), times=(t,), first_seen=0.0, last_seen=t, hits=5)


def play(r: Rule, steps: Sequence[Sequence[Track]], fps: float = 5.0, image: np.ndarray = BLANK) -> list[tuple[float, RuleHit]]:
    hits = []
    for i, tracks in enumerate(steps):
        for hit in r.update(tracks, Frame(i, i / fps, image)):
            hits.append((i / fps, hit))
    return hits


# --- line crossing -------------------------------------------------------------------------------

LINE = {"lines": [{"name": "gate", "points": [[200, 300], [200, 100]], "forward": "east", "backward": "west"}]}


def test_line_crossings_are_counted_per_direction_and_class() -> None:
    r = rule({"type": "line_crossing", "lines": ["gate"]}, **LINE)
    steps = []
    for i in range(20):
        steps.append(
            [
                at(1, 150 + 6 * i, 200),  # walks east across x=200
                at(2, 260 - 6 * i, 250, cls="motorbike"),  # rides west
                at(3, 250 - 6 * i, 150),  # walks west
            ]
        )
    hits = [h for _, h in play(r, steps)]
    # Each counts once it is more than hysteresis_px (8) past the line: frame 10 for 1 and 3, 12 for 2.
    assert [(h.frame_index, h.track_ids, h.details["direction"], h.details["class"]) for h in hits] == [
        (10, (1,), "east", "person"),
        (10, (3,), "west", "person"),
        (12, (2,), "west", "motorbike"),
    ]
    assert hits[-1].type == "line_crossing" and hits[-1].details["line"] == "gate"
    assert hits[-1].details["counts"] == {"east/person": 1, "west/motorbike": 1, "west/person": 1}


def test_jitter_on_the_line_and_crossings_beyond_its_ends_do_not_count() -> None:
    r = rule({"type": "line_crossing", "lines": ["gate"], "hysteresis_px": 5}, **LINE)
    jitter = [[at(1, 200 + (4 if i % 2 else -4), 200)] for i in range(20)]  # ±4 px: inside the hysteresis
    beyond = [[at(2, 150 + 10 * i, 400)] for i in range(12)]  # crosses x=200 below the line's end (y=300)
    assert play(r, jitter) == [] and play(r, beyond) == []


def test_back_and_forth_counts_each_crossing() -> None:
    r = rule({"type": "line_crossing", "lines": ["gate"]}, **LINE)
    xs = [170, 185, 215, 230, 215, 185, 170, 230]
    hits = [h.details["direction"] for _, h in play(r, [[at(1, x, 200)] for x in xs])]
    assert hits == ["east", "west", "east"]


def test_line_crossing_class_filter() -> None:
    r = rule({"type": "line_crossing", "lines": ["gate"], "classes": ["car"]}, **LINE)
    assert play(r, [[at(1, 150 + 10 * i, 200)] for i in range(10)]) == []


# --- zone intrusion ------------------------------------------------------------------------------


def test_zone_intrusion_fires_once_per_entry() -> None:
    r = rule({"type": "zone_intrusion", "zones": ["z"]})
    xs = [50, 80, 150, 160, 170, 350, 360, 200, 210]  # enters, stays, leaves, comes back
    hits = play(r, [[at(7, x, 200)] for x in xs])
    assert [(t, h.track_ids, h.details["zone"]) for t, h in hits] == [(0.4, (7,), "z"), (1.4, (7,), "z")]
    assert hits[0][1].type == "zone_intrusion" and hits[0][1].rule == "zone_intrusion"


def test_zone_intrusion_class_filter() -> None:
    r = rule({"type": "zone_intrusion", "zones": ["z"], "classes": ["person"]})
    assert play(r, [[at(1, 200, 200, cls="car")]] * 3) == []


# --- loitering -----------------------------------------------------------------------------------


def test_loitering_after_n_seconds_in_the_zone_once() -> None:
    r = rule({"type": "loitering", "zones": ["z"], "seconds": 3})
    steps = [[at(1, 50, 200)]] * 5 + [[at(1, 200 + (i % 3), 200)] for i in range(40)]  # enters at t=1.0
    hits = play(r, steps)
    assert [(round(t, 1), h.details["seconds"]) for t, h in hits] == [(4.0, 3.0)]


def test_loitering_resets_when_the_track_leaves() -> None:
    r = rule({"type": "loitering", "zones": ["z"], "seconds": 3})
    steps = ([[at(1, 200, 200)]] * 10 + [[at(1, 50, 200)]]) * 3  # 2 s in, out, 2 s in, out...
    assert play(r, steps) == []


def test_loitering_ignores_other_classes_by_default() -> None:
    r = rule({"type": "loitering", "zones": ["z"], "seconds": 1})
    assert play(r, [[at(1, 200, 200, cls="car")]] * 20) == []


# --- crowding ------------------------------------------------------------------------------------


def test_crowding_when_more_than_n_people_are_in_the_zone() -> None:
    r = rule({"type": "crowding", "zones": ["z"], "max_people": 2})
    two = [at(1, 150, 150), at(2, 250, 250), at(9, 200, 200, cls="car")]
    three = [*two, at(3, 200, 160)]
    steps = [two] * 3 + [three] * 5 + [two] * 2 + [three] * 2
    hits = play(r, steps)
    assert [(round(t, 1), h.track_ids, h.details["count"]) for t, h in hits] == [(0.6, (1, 2, 3), 3), (2.0, (1, 2, 3), 3)]


def test_crowding_must_last_its_seconds() -> None:
    r = rule({"type": "crowding", "zones": ["z"], "max_people": 1, "seconds": 2})
    crowd = [at(1, 150, 150), at(2, 250, 250)]
    assert play(r, [crowd] * 5) == []
    assert len(play(rule({"type": "crowding", "zones": ["z"], "max_people": 1, "seconds": 2}), [crowd] * 12)) == 1


# --- encroachment --------------------------------------------------------------------------------


def test_a_vehicle_stationary_on_the_sidewalk_encroaches_after_n_seconds() -> None:
    r = rule({"type": "encroachment", "zones": ["z"], "seconds": 5})
    arriving = [[at(4, 20 * i, 200, cls="motorbike")] for i in range(10)]  # rides in, stops at x=180
    parked = [[at(4, 180 + (i % 2) * 3, 200, cls="motorbike")] for i in range(40)]  # jitters by 3 px
    hits = play(r, arriving + parked)
    assert len(hits) == 1
    t, hit = hits[0]
    assert hit.type == "encroachment" and hit.details["zone_kind"] == "sidewalk" and hit.details["class"] == "motorbike"
    assert abs(t - (9 / 5 + 5)) < 0.21  # five seconds after it stopped


def test_moving_vehicles_and_people_do_not_encroach() -> None:
    r = rule({"type": "encroachment", "zones": ["z"], "seconds": 2, "radius_px": 10})
    creeping = [[at(1, 110 + 4 * i, 200, cls="car")] for i in range(45)]  # 20 px/s through the zone
    standing = [[at(2, 200, 200, cls="person")]] * 30
    assert play(r, creeping) == [] and play(r, standing) == []


# --- tampered ------------------------------------------------------------------------------------


def tampered(seconds: float = 2) -> Rule:
    return rule({"type": "tampered", "seconds": seconds})


def frames_of(images: Sequence[np.ndarray]) -> list[tuple[float, list[RuleHit]]]:
    r = tampered()
    return [(i / 5, r.update([], Frame(i, i / 5, image))) for i, image in enumerate(images)]


def noisy(image: np.ndarray, seed: int) -> np.ndarray:
    return cv2.add(image, np.random.default_rng(seed).integers(0, 4, image.shape, dtype=np.uint8))


def conditions(results: list[tuple[float, list[RuleHit]]]) -> list[tuple[float, str]]:
    return [(round(t, 1), h.details["condition"]) for t, hits in results for h in hits]


def test_live_footage_is_not_tampered(vtest_head: list[np.ndarray]) -> None:
    assert conditions(frames_of(vtest_head[::2])) == []


def test_a_black_picture_is_dark(vtest_head: list[np.ndarray]) -> None:
    black = [noisy(np.zeros_like(vtest_head[0]), i) for i in range(20)]
    found = conditions(frames_of(vtest_head[:20:2] + black))
    assert found == [(3.6, "dark")]  # 80% of the last 2 s dark


def test_a_frozen_picture_is_frozen(vtest_head: list[np.ndarray]) -> None:
    found = conditions(frames_of(vtest_head[:20:2] + [vtest_head[20]] * 20))
    assert found == [(3.8, "frozen")]  # the first repeat is the frame after the first still one


def test_a_covered_lens_is_covered(vtest_head: list[np.ndarray]) -> None:
    hand = cv2.GaussianBlur(vtest_head[0], (0, 0), 30)  # something against the lens: light, no edges
    covered = [cv2.add(hand, np.full_like(hand, i % 3)) for i in range(20)]  # not frozen: exposure hunts
    found = conditions(frames_of(vtest_head[:20:2] + covered))
    assert found == [(3.6, "covered")]


def test_tampered_rearms_after_the_picture_comes_back(vtest_head: list[np.ndarray]) -> None:
    black = np.zeros_like(vtest_head[0])
    images = [black] * 15 + vtest_head[:30:2] + [black] * 15
    found = [c for _, c in conditions(frames_of(images)) if c == "dark"]
    assert found == ["dark", "dark"]


@pytest.mark.parametrize("seconds", [0.5, 5])
def test_tampered_waits_for_a_full_window(seconds: float) -> None:
    r = tampered(seconds)
    black = np.zeros((96, 128, 3), np.uint8)
    fired = [i / 5 for i in range(40) if r.update([], Frame(i, i / 5, black))]
    assert fired and fired[0] == pytest.approx(max(seconds, 0.2), abs=0.21)
