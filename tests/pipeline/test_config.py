"""The pipeline config: strict, frozen, and errors that name the field and say what to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from analytics.pipeline import registry
from analytics.pipeline.base import Detector, MotionGate, Rule, Tracker
from analytics.pipeline.config import PipelineConfig

SQUARE = [[0, 0], [100, 0], [100, 100], [0, 100]]


def errors(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        PipelineConfig.model_validate(data)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in caught.value.errors()]


def full_config() -> dict[str, Any]:
    return {
        "analysis_fps": 5,
        "motion": {"history": 100, "var_threshold": 30},
        "detector": {"name": "motion-blobs"},
        "tracker": {"max_age_s": 2},
        "masks": [{"name": "window", "kind": "privacy", "polygon": [[0, 0], [50, 0], [50, 50]]}],
        "zones": [
            {"name": "gate", "kind": "intrusion", "polygon": SQUARE},
            {"name": "pavement", "kind": "sidewalk", "polygon": SQUARE},
        ],
        "lines": [{"name": "walkway", "points": [[300, 340], [300, 170]], "forward": "east", "backward": "west"}],
        "rules": [
            {"type": "zone_intrusion", "zones": ["gate"]},
            {"type": "line_crossing", "lines": ["walkway"], "classes": ["person", "motorbike"]},
            {"type": "loitering", "name": "gate loitering", "zones": ["gate"], "seconds": 30},
            {"type": "crowding", "zones": ["gate"], "max_people": 5},
            {"type": "encroachment", "zones": ["pavement"], "seconds": 60},
            {"type": "tampered"},
        ],
    }


def test_defaults_are_valid_and_the_blob_fallback() -> None:
    config = PipelineConfig()
    assert config.analysis_fps == 5
    assert (config.motion.name, config.detector.name, config.tracker.name) == ("mog2", "motion-blobs", "iou")
    assert config.rules == ()


def test_a_full_config_validates_and_round_trips_unchanged() -> None:
    config = PipelineConfig.model_validate(full_config())
    assert [r.name for r in config.rules] == [
        "zone_intrusion",
        "line_crossing",
        "gate loitering",
        "crowding",
        "encroachment",
        "tampered",
    ]
    # Validators only check: dumping and validating again gives the same config.
    assert PipelineConfig.model_validate(config.model_dump()) == config
    assert PipelineConfig.model_validate_json(config.model_dump_json()) == config


def test_config_is_frozen() -> None:
    config = PipelineConfig()
    with pytest.raises(ValidationError, match="frozen"):
        config.analysis_fps = 10  # type: ignore[misc]


def test_unknown_fields_are_refused_by_name_at_every_level() -> None:
    data = full_config()
    data["moton"] = {}
    data["motion"]["histroy"] = 3
    data["rules"][2]["secnds"] = 5
    found = errors(data)
    assert ("moton", "Extra inputs are not permitted") in found
    assert ("motion.histroy", "Extra inputs are not permitted") in found
    assert ("rules.2.loitering.secnds", "Extra inputs are not permitted") in found


def test_bad_values_name_the_field_and_the_fix() -> None:
    data = full_config()
    data["analysis_fps"] = 0
    data["motion"]["history"] = 1
    data["zones"][0]["kind"] = "park"
    data["detector"]["name"] = "yolo-magic"
    found = dict(errors(data))
    assert "greater than 0" in found["analysis_fps"]
    assert "greater than or equal to 2" in found["motion.history"]
    assert "'intrusion', 'sidewalk' or 'roadway'" in found["zones.0.kind"]
    assert "unknown name 'yolo-magic': choose one of motion-blobs" in found["detector.name"]


def test_unknown_rule_type_lists_the_rule_types() -> None:
    found = errors({"rules": [{"type": "loiter", "zones": ["gate"]}]})
    assert found[0][0] == "rules.0"
    assert "'zone_intrusion', 'line_crossing', 'loitering', 'crowding', 'encroachment', 'tampered'" in found[0][1]


def test_rules_must_name_zones_and_lines_that_exist() -> None:
    data = full_config()
    data["rules"][0]["zones"] = ["gaet"]
    data["rules"][1]["lines"] = ["walk way"]
    (loc, message), *_ = errors(data)
    assert (
        "rules.0 (zone_intrusion).zones: no zone named 'gaet'; define it under zones or use one of ['gate', 'pavement']"
        in message
    )
    assert "rules.1 (line_crossing).lines: no line named 'walk way'" in message


def test_encroachment_needs_a_sidewalk_or_roadway_zone() -> None:
    data = full_config()
    data["rules"][4]["zones"] = ["gate"]
    message = errors(data)[0][1]
    assert "zone 'gate' is of kind 'intrusion'; encroachment needs a sidewalk or roadway zone" in message


def test_duplicate_names_are_refused() -> None:
    data = full_config()
    data["rules"].append({"type": "tampered"})
    data["zones"].append({"name": "gate", "kind": "roadway", "polygon": SQUARE})
    message = errors(data)[0][1]
    assert "zones: the name 'gate' is used twice" in message
    assert "rules: the name 'tampered' is used twice" in message


def test_geometry_is_checked() -> None:
    found = dict(
        errors(
            {
                "zones": [
                    {"name": "two points", "kind": "intrusion", "polygon": [[0, 0], [10, 10]]},
                    {"name": "flat", "kind": "intrusion", "polygon": [[0, 0], [10, 10], [20, 20]]},
                    {"name": "negative", "kind": "intrusion", "polygon": [[-5, 0], [10, 0], [10, 10]]},
                ],
                "lines": [{"name": "dot", "points": [[5, 5], [5, 5]]}],
            }
        )
    )
    assert "at least 3 items" in found["zones.0.polygon"]
    assert "no area" in found["zones.1.polygon"]
    assert "greater than or equal to 0" in found["zones.2.polygon.0.0"]
    assert "the same" in found["lines.0"]


def test_the_registry_builds_every_stage_the_config_names() -> None:
    config = PipelineConfig.model_validate(full_config())
    assert isinstance(registry.build_motion_gate(config), MotionGate)
    detector = registry.build_detector(config)
    assert isinstance(detector, Detector) and detector.name == "motion-blobs"
    assert isinstance(registry.build_tracker(config), Tracker)
    rules = registry.build_rules(config)
    assert all(isinstance(rule, Rule) for rule in rules)
    assert [(r.name, r.type) for r in rules] == [
        ("zone_intrusion", "zone_intrusion"),
        ("line_crossing", "line_crossing"),
        ("gate loitering", "loitering"),
        ("crowding", "crowding"),
        ("encroachment", "encroachment"),
        ("tampered", "tampered"),
    ]


def test_every_rule_type_is_an_alert_type() -> None:
    # analytics.models.AlertType's values, written out: this package must not import Django.
    alert_types = {"zone_intrusion", "encroachment", "loitering", "line_crossing", "crowding", "tampered", "person_fallen"}
    assert set(registry.RULES) <= alert_types


def test_resolve_names_the_choices() -> None:
    with pytest.raises(KeyError, match="no implementation named 'ssd'; choose one of: motion-blobs, yolo"):
        registry.resolve(registry.DETECTORS, "ssd")


def test_the_pipeline_package_never_imports_django() -> None:
    import subprocess
    import sys

    code = (
        "import sys, analytics.pipeline.runner, analytics.pipeline.registry as r\n"
        "for table in (r.MOTION_GATES, r.DETECTORS, r.TRACKERS, r.RULES, r.SOURCES):\n"
        "    [r.resolve(table, name) for name in table]\n"
        "import analytics.pipeline.clips\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'torch', 'ultralytics'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=root, env={"PATH": "/usr/bin:/bin"}
    )
    assert done.returncode == 0, done.stdout + done.stderr
