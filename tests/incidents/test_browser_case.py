"""The case page in a real browser: the map shows the case and its cameras, a ready clip plays
through the scoped URL and that playing is written to the chain of custody."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from incidents import services
from incidents.models import CustodyEntry, Evidence
from tests.base.browser import chromium
from tests.base.factories import camera_in
from tests.incidents.conftest import record
from tests.test_browser import WAIT_S, console_errors, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium(lang="en") as driver:
        yield driver


def test_case_page_map_and_player(browser: Any, live_server: Any, ward_a: Any, settings: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    settings.MEDIA_ROOT = tmp_path / "media"
    ward = ward_a.ward
    one = camera_in(ward, code="MAP-1", location=Point(106.7800, 10.8400, srid=4326))
    two = camera_in(ward, code="MAP-2", location=Point(106.7850, 10.8450, srid=4326))
    user = ward_a.users["investigator"]
    case = services.create_case(
        ward=ward, actor=user, title="Snatching", type="snatching", occurred_at=timezone.now(),
        location=Point(106.7820, 10.8420, srid=4326), cameras=[one, two],
    )  # fmt: skip
    started = (timezone.now() - dt.timedelta(minutes=5)).replace(microsecond=0)
    record(one, started=started, count=2, media_root=Path(settings.MEDIA_ROOT))
    clip = services.add_clip(
        case=case, camera=one, start=started + dt.timedelta(seconds=1), end=started + dt.timedelta(seconds=6), actor=user
    )
    services.process_evidence(evidence_id=clip.pk)
    clip.refresh_from_db()
    assert clip.status == Evidence.Status.READY, clip.error

    sign_in(browser, live_server.url, "investigator.a")
    browser.get(f"{live_server.url}/cases/{case.pk}/")
    wait = WebDriverWait(browser, WAIT_S)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#case-map .leaflet-marker-icon"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#case-map path.leaflet-interactive")) == 2  # the cameras
    assert case.number in browser.find_element(By.CSS_SELECTOR, "#case-map .leaflet-tooltip").text
    assert clip.sha256[:16] in browser.find_element(By.ID, "evidence-table").get_attribute("innerHTML")
    assert list(CustodyEntry.objects.filter(case=case).values_list("action", flat=True)) == ["requested", "intake"]
    browser.execute_script("document.querySelector('#evidence-table video').load()")
    wait.until(lambda d: d.execute_script("return document.querySelector('#evidence-table video').readyState") >= 1)
    duration = browser.execute_script("return document.querySelector('#evidence-table video').duration")
    assert abs(duration - (clip.true_end - clip.true_start).total_seconds()) < 0.2
    assert CustodyEntry.objects.filter(case=case, action="view", actor=user).exists()
    assert not console_errors(browser)
