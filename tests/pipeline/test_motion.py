"""The MOG2 motion gate: quiet on a still scene, quick on movement, boxes where things move, masks."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

from analytics.pipeline.base import Frame
from analytics.pipeline.clips import QUIET_STILL, VTEST_FPS, quiet_clip
from analytics.pipeline.config import MaskConfig, MotionConfig
from analytics.pipeline.motion.mog2 import Mog2MotionGate


def flags(clip: list[np.ndarray], every: int = 2) -> list[tuple[float, bool]]:
    gate = Mog2MotionGate(MotionConfig())
    return [(i / VTEST_FPS, gate.update(Frame(i, i / VTEST_FPS, clip[i])).moving) for i in range(0, len(clip), every)]


@pytest.mark.parametrize("every", [2, 1], ids=["5fps", "10fps"])
def test_quiet_clip_with_sensor_noise_is_silent_after_2s_and_reacts_at_once(quiet_noisy: list[np.ndarray], every: int) -> None:
    seen = flags(quiet_noisy, every)
    start = QUIET_STILL / VTEST_FPS
    assert [ts for ts, moving in seen if 2.0 <= ts < start and moving] == []
    moving_part = [moving for ts, moving in seen if ts >= start]
    assert moving_part[0], "no motion in the very frame the walkers start moving"
    assert sum(moving_part) >= 0.95 * len(moving_part)


def test_exactly_repeated_frames_are_silent(vtest_head: list[np.ndarray]) -> None:
    seen = flags(quiet_clip(vtest_head, still=60, moving=10))
    assert [ts for ts, moving in seen if 2.0 <= ts < 6.0 and moving] == []
    assert seen[0][1], "the first frame is all new: one look for the detector"
    assert [moving for ts, moving in seen if ts >= 6.0][0]


def scene(x: int, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """A textured grey background with a dark 40×80 box whose left edge is at ``x``."""
    rng = np.random.default_rng(7)
    image = np.repeat(rng.integers(90, 160, (*size, 1), dtype=np.uint8), 3, axis=2)
    image[200:280, x : x + 40] = 20
    return image


def test_regions_come_back_in_full_size_pixels_around_what_moved() -> None:
    gate = Mog2MotionGate(MotionConfig())
    for i in range(10):
        gate.update(Frame(i, i / 5, scene(100)))
    result = gate.update(Frame(10, 2.0, scene(130)))
    assert result.moving and len(result.regions) == 1
    box = result.regions[0]
    step = round(480 / MotionConfig().frame_height)
    # The change spans the old and the new place of the box: x 100..170, y 200..280 (± a small pixel).
    assert abs(box.x1 - 100) <= 2 * step and abs(box.x2 - 170) <= 2 * step
    assert abs(box.y1 - 200) <= 2 * step and abs(box.y2 - 280) <= 2 * step
    assert 0 < result.fraction < 0.05


@pytest.mark.parametrize("kind", ["ignore", "privacy"])
def test_masked_areas_never_wake_the_gate(kind: Literal["ignore", "privacy"]) -> None:
    mask = MaskConfig(name="tree", kind=kind, polygon=((80, 180), (260, 180), (260, 300), (80, 300)))
    gate = Mog2MotionGate(MotionConfig(), [mask])
    # The box walks from x=100 to x=212 (+40 wide): always inside the mask.
    results = [gate.update(Frame(i, i / 5, scene(100 + 8 * i))) for i in range(15)]
    assert not any(r.moving for r in results[1:])
    unmasked = Mog2MotionGate(MotionConfig())
    assert all(unmasked.update(Frame(i, i / 5, scene(100 + 8 * i))).moving for i in range(15))


def test_a_small_far_walker_is_seen_in_every_frame() -> None:
    gate = Mog2MotionGate(MotionConfig())
    rng = np.random.default_rng(7)
    background = np.repeat(rng.integers(90, 160, (576, 768, 1), dtype=np.uint8), 3, axis=2)
    seen = []
    for i in range(30):
        image = background.copy()
        if i >= 10:  # an 8×16 px figure (a walker far away) walks 6 px a frame
            image[300:316, 100 + 6 * (i - 10) : 108 + 6 * (i - 10)] = 20
        seen.append(gate.update(Frame(i, i / 5, image)).moving)
    assert not any(seen[2:10]) and all(seen[10:])


def test_tiny_changes_are_not_motion() -> None:
    gate = Mog2MotionGate(MotionConfig())
    base = scene(100)
    for i in range(10):
        gate.update(Frame(i, i / 5, base))
    speck = base.copy()
    speck[50:53, 50:53] = 255  # a 3×3 px flicker: far below min_area
    assert not gate.update(Frame(10, 2.0, speck)).moving


def test_a_new_frame_size_starts_a_new_background() -> None:
    gate = Mog2MotionGate(MotionConfig())
    for i in range(5):
        gate.update(Frame(i, i / 5, scene(100)))
    result = gate.update(Frame(5, 1.0, scene(100, size=(240, 320))))
    assert result.moving and result.regions[0].x2 <= 320 and result.regions[0].y2 <= 240


def test_vtest_walkers_keep_the_gate_awake(vtest_head: list[np.ndarray]) -> None:
    gate = Mog2MotionGate(MotionConfig())
    results = [gate.update(Frame(i, i / 10, image)) for i, image in enumerate(vtest_head)]
    assert all(r.moving for r in results)
    assert 2 <= np.mean([len(r.regions) for r in results]) <= 12
