"""Footage for the pipeline tests: plain arrays and files, no database (STYLE.md §6, §12)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analytics.pipeline.clips import VTEST, encode, quiet_clip, read_frames


@pytest.fixture(scope="session")
def vtest() -> Path:
    assert VTEST.exists(), f"{VTEST} is missing: install the Debian package opencv-doc (make setup does)"
    return VTEST


@pytest.fixture(scope="session")
def vtest_head(vtest: Path) -> list[np.ndarray]:
    """The first 101 frames of vtest.avi (what the quiet clip is built from)."""
    return read_frames(vtest, limit=101)


@pytest.fixture(scope="session")
def quiet_noisy(vtest_head: list[np.ndarray]) -> list[np.ndarray]:
    """300 frames of one still picture with sensor noise (σ = 2), then 100 frames of walkers."""
    return quiet_clip(vtest_head, noise=2.0)


@pytest.fixture(scope="session")
def still_video(vtest_head: list[np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """15 s of vtest.avi's first frame held still, as an H.264 file (codec noise, key frames)."""
    return encode([vtest_head[0]] * 150, tmp_path_factory.mktemp("clips") / "still.mp4", preset="ultrafast")
