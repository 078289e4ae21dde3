"""A real Chromium: a watchlist hit seen by another ward's camera shows in the operations room (the
place from the alert's details, no link to a camera the ward cannot open) and does not upset the wall."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.utils import timezone

from tests.base.analysis import plate_read_in
from tests.base.factories import MembershipFactory, UserFactory, camera_in
from tests.conftest import WardWorld
from tests.test_browser_ops import (  # noqa: F401  (fixtures)
    WAIT_S,
    browser,
    console_errors,
    media,
    page,
    sign_in,
    web,
)
from watchlists import services

pytestmark = pytest.mark.browser


def _hit_seen_in_b(ward_a: WardWorld, ward_b: WardWorld, city_user: Any) -> None:
    admin2 = UserFactory(username="admin2.a")
    MembershipFactory(user=admin2, ward=ward_a.ward, role="admin")
    entry = services.propose(
        actor=city_user,
        ward=ward_a.ward,
        plate="51F-123.45",
        reason="Cướp giật",
        legal_basis="Quyết định 12/QĐ",
        covered_wards=[ward_b.ward],
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    services.approve(entry=entry, actor=admin2)
    read = plate_read_in(ward_b.ward, camera=camera_in(ward_b.ward, code="B-CAM", name="Ngã tư B"), plate="51F-123.45")
    assert services.match_plate_reads(read_ids=[read.pk]) == 1


def test_ops_room_and_wall_show_a_hit_seen_in_another_ward(
    transactional_db: Any,
    web: str,  # noqa: F811
    page: Any,  # noqa: F811
    ward_a: WardWorld,
    ward_b: WardWorld,
    city_user: Any,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from analytics.models import Alert

    camera_in(ward_a.ward, code="A-1")
    sign_in(page, web, ward_a.users["operator"])
    page.get(f"{web}/ops/")
    wait = WebDriverWait(page, WAIT_S)
    wait.until(lambda d: d.find_element(By.ID, "ops-conn").get_attribute("data-state") == "live")
    _hit_seen_in_b(ward_a, ward_b, city_user)
    alert = Alert.objects.get(ward=ward_a.ward)
    assert alert.camera is None
    item = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'#feed .alert-item[data-id="{alert.pk}"]'))
    assert "B-CAM" in item.text and "51F-123.45" in item.text
    item.click()
    wait.until(lambda d: d.find_element(By.ID, "detail").get_attribute("data-alert") == str(alert.pk))
    facts = page.find_element(By.ID, "d-facts")
    assert "B-CAM" in facts.text and "Phường B" in facts.text
    assert not [a for a in facts.find_elements(By.TAG_NAME, "a") if "/cameras/" in (a.get_attribute("href") or "")]
    # Reloaded from the REST list (not the socket), it reads the same.
    page.refresh()
    item = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'#feed .alert-item[data-id="{alert.pk}"]'))
    assert "B-CAM" in item.text
    assert console_errors(page) == []

    page.get(f"{web}/wall/")
    wait.until(lambda d: d.find_element(By.ID, "wall-grid").get_attribute("data-ready") == "1")
    wait.until(lambda d: d.find_element(By.ID, "ops-conn").get_attribute("data-state") == "live")
    # Seen again in ward B: the grouped event (no camera of ward A) reaches the wall, which has no tile for it.
    again = plate_read_in(ward_b.ward, camera=camera_in(ward_b.ward, code="B-CAM2"), plate="51F-123.45")
    assert services.match_plate_reads(read_ids=[again.pk]) == 1
    wait.until(lambda d: Alert.objects.get(pk=alert.pk).count == 2)
    time.sleep(1.5)  # past the relay's poll: the event has been delivered
    assert console_errors(page) == []
    assert page.find_element(By.ID, "wall-grid").get_attribute("data-ready") == "1"
