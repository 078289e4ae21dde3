"""A plate read that matches a watchlist entry, matched by a real Celery worker: the alert reaches each
covered ward's sockets within seconds, and no other ward's. Plus the pipeline's hook (ResultWriter)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np
import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone

from analytics.models import Alert, AlertEvent, AlertType
from tests.base.analysis import plate_read_in
from tests.base.factories import MembershipFactory, UserFactory, WardFactory, box, camera_in
from tests.test_alert_socket import connect, receive_until
from tests.test_worker import celery_worker_process  # noqa: F401  (the real worker fixture)
from watchlists import services


def _world(ward_a: Any, ward_b: Any, city_user: Any) -> dict[str, Any]:
    ward_c: Any = WardFactory(slug="ward-c", name="Phường C", code="WC", boundary=box(106.64, 10.74, 106.68, 10.78))
    operator_c = UserFactory(username="operator.c")
    MembershipFactory(user=operator_c, ward=ward_c, role="operator")
    admin2 = UserFactory(username="admin2.a")
    MembershipFactory(user=admin2, ward=ward_a.ward, role="admin")
    entry = services.propose(
        actor=city_user,
        ward=ward_a.ward,
        plate="51F-123.45",
        reason="Cướp giật",
        legal_basis="Quyết định 12/QĐ",
        priority=4,
        covered_wards=[ward_b.ward],
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    services.approve(entry=entry, actor=admin2)
    return {
        "entry": entry,
        "ward_c": ward_c,
        "operator_c": operator_c,
        "camera_b": camera_in(ward_b.ward, code="B-CAM", name="Ngã tư B"),
        "camera_c": camera_in(ward_c, code="C-CAM"),
    }


def _read_and_queue(ward: Any, camera: Any, plate: str) -> int:
    with transaction.atomic():
        read = plate_read_in(ward, camera=camera, plate=plate)
        services.queue_matching([read.pk])
    return int(read.pk)


@pytest.mark.worker
@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_real_worker_raises_the_hit_in_each_covered_ward_only(
    celery_worker_process: Any,  # noqa: F811
    ward_a: Any,
    ward_b: Any,
    city_user: Any,
) -> None:
    world = await database_sync_to_async(_world)(ward_a, ward_b, city_user)
    sockets = {}
    for name, user in (("a", ward_a.users["operator"]), ("b", ward_b.users["operator"]), ("c", world["operator_c"])):
        sockets[name] = await connect(user)
        assert (await sockets[name].connect())[0]
        await sockets[name].receive_json_from()  # hello

    # Seen in ward C (not covered) first, then in ward B with an OCR slip (I for 1, S for 5).
    await database_sync_to_async(_read_and_queue)(world["ward_c"], world["camera_c"], "51F-123.45")
    started = time.monotonic()
    read_b = await database_sync_to_async(_read_and_queue)(ward_b.ward, world["camera_b"], "51F-I23.4S")
    try:
        got_b = await receive_until(sockets["b"], "alert", timeout=60)
    except Exception:
        out = celery_worker_process.stdout.read() if celery_worker_process.poll() is not None else "(running)"
        pytest.fail(f"no alert reached ward B's socket; worker: {out}")
    latency = time.monotonic() - started
    got_a = await receive_until(sockets["a"], "alert", timeout=10)
    assert got_b["alert"]["type"] == got_a["alert"]["type"] == "watchlist_hit"
    assert got_b["alert"]["severity"] == 4
    assert got_b["alert"]["camera"]["code"] == "B-CAM" and got_b["alert"]["camera"]["id"] == world["camera_b"].pk
    # Ward A's socket gets the camera described, not ward B's camera row.
    assert got_a["alert"]["camera"]["id"] is None and got_a["alert"]["camera"]["code"] == "B-CAM"
    assert await sockets["c"].receive_nothing(timeout=2)
    assert latency < 15, f"the hit took {latency:.1f} s to reach the ward's socket"

    def rows() -> tuple[dict[int, Any], set[int]]:
        alerts = {a.ward_id: a for a in Alert.objects.filter(type=AlertType.WATCHLIST_HIT)}
        return alerts, set(AlertEvent.objects.values_list("ward_id", flat=True))

    alerts, event_wards = await database_sync_to_async(rows)()
    assert set(alerts) == event_wards == {ward_a.ward.pk, ward_b.ward.pk}
    assert alerts[ward_b.ward.pk].details["sighting"]["read"] == read_b
    for communicator in sockets.values():
        await communicator.disconnect()


@pytest.mark.django_db
def test_pipeline_plate_reads_are_matched(ward_a: Any, django_capture_on_commit_callbacks: Any) -> None:
    """The live pipeline's ResultWriter queues its new reads for matching after its flush commits."""
    from analytics.pipeline.base import Box, Frame, MotionResult, Sighting
    from analytics.pipeline.config import PipelineConfig
    from analytics.pipeline.runner import FrameResult
    from analytics.results import ResultWriter
    from portal.celery import app

    admin2 = UserFactory(username="admin2.a")
    MembershipFactory(user=admin2, ward=ward_a.ward, role="admin")
    entry = services.propose(
        actor=ward_a.users["investigator"],
        ward=ward_a.ward,
        plate="59-X1 234.56",
        reason="r",
        legal_basis="b",
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    services.approve(entry=entry, actor=admin2)
    camera = camera_in(ward_a.ward, code="LIVE-1")
    config = PipelineConfig.model_validate({})
    writer = ResultWriter(
        ward_id=ward_a.ward.pk, source="live:test:1", origin=timezone.now(), config=config, model="m", camera=camera
    )
    image = np.zeros((48, 64, 3), dtype=np.uint8)
    sighting = Sighting(
        kind="plate",
        track_id=1,
        timestamp=0.4,
        frame_index=2,
        box=Box(1, 1, 30, 20),
        confidence=0.9,
        crop=image[:20, :30],
        model="rapidocr",
        text="59-X1 234.56",
        raw="59-XI 234.S6",
        key="59X123456",
    )
    writer.add(
        FrameResult(
            frame=Frame(index=2, timestamp=0.4, image=image),
            motion=MotionResult(moving=True),
            detected=True,
            detections=(),
            tracks=(),
            hits=(),
            sightings=(sighting,),
        )
    )
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            writer.flush()
    finally:
        app.conf.task_always_eager = False
    alert = Alert.objects.get(type=AlertType.WATCHLIST_HIT)
    assert alert.camera == camera and alert.details["entry"] == entry.pk
