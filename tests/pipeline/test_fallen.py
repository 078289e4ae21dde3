"""The person_fallen rule on hand-made tracks (no model): the label the people model gives a fallen person."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from analytics.pipeline.base import Box, Frame, Track
from analytics.pipeline.config import PersonFallenConfig, PipelineConfig, ZoneConfig
from analytics.pipeline.detectors.catalog import available_models
from analytics.pipeline.rules.person_fallen import PersonFallenRule

IMAGE = np.zeros((576, 768, 3), np.uint8)


def track(label: str, t: float, track_id: int = 1, cls: str = "person", x: float = 100) -> Track:
    box = Box(x, 300, x + 90, 340)  # lying: wider than tall
    return Track(id=track_id, cls=cls, boxes=(box,), times=(t,), first_seen=0.0, last_seen=t, hits=5, label=label)


def run(rule: PersonFallenRule, labels: list[str], fps: float = 5.0, **kwargs: object) -> list[float]:
    """Feed one track labelled ``labels[i]`` at frame i; the times of the hits."""
    times = []
    for i, label in enumerate(labels):
        t = i / fps
        for hit in rule.update([track(label, t, **kwargs)], Frame(i, t, IMAGE)):  # type: ignore[arg-type]
            times.append(hit.timestamp)
    return times


def make(**fields: object) -> PersonFallenRule:
    config = PersonFallenConfig.model_validate({"type": "person_fallen", **fields})
    zones = {"floor": ZoneConfig(name="floor", kind="intrusion", polygon=((0, 200), (400, 200), (400, 576), (0, 576)))}
    return PersonFallenRule(config, zones, {})


def test_a_person_fallen_for_two_seconds_fires_once() -> None:
    # Fallen from t = 1 s; 2 s later the rule fires, then stays quiet for the same track.
    assert run(make(), ["Normal"] * 5 + ["Fall"] * 30) == [pytest.approx(3.0)]


def test_a_person_walking_normally_never_fires() -> None:
    assert run(make(), ["Normal"] * 50) == []


def test_a_short_stumble_does_not_fire_and_one_flicker_does_not_reset_the_fall() -> None:
    assert run(make(), (["Fall"] * 5 + ["Normal"] * 10) * 3) == []  # 1 s down, 2 s up, three times
    flickering = ["Fall", "Fall", "Fall", "Normal"] * 5  # the model hesitates on a person lying still
    assert run(make(), flickering) == [pytest.approx(2.0)]


def test_other_classes_and_zones_are_respected() -> None:
    assert run(make(), ["Fall"] * 20, cls="car") == []
    assert run(make(zones=["floor"]), ["Fall"] * 20, x=500) == []  # outside the floor zone
    assert run(make(zones=["floor"]), ["Fall"] * 20, x=100) == [pytest.approx(2.0)]


def test_the_rule_must_use_a_label_the_models_report_as_fallen() -> None:
    people = available_models()["people"]
    assert people.fallen == ("Fall",)
    detector = {"name": "yolo", "models": [people.model_dump()]}
    PipelineConfig.model_validate({"detector": detector, "rules": [{"type": "person_fallen"}]})
    with pytest.raises(ValidationError, match="no model reports"):
        PipelineConfig.model_validate({"detector": detector, "rules": [{"type": "person_fallen", "labels": ["Down"]}]})
