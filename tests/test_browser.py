"""A real Chromium on the live server: sign-in, coverage map, dashboard, language switch.

Map tiles are blocked in the browser, as on a machine without internet: the page must work without them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.gis.geos import Point

from cameras.models import Camera
from tests.base.browser import chromium
from tests.base.factories import camera_in
from tests.conftest import WardWorld

pytestmark = pytest.mark.browser

PASSWORD = "pw-for-tests-1"
WAIT_S = 20


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # A Vietnamese user's browser; the page must come up in Vietnamese.
    with chromium(lang="vi") as driver:
        yield driver


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    browser.delete_all_cookies()
    browser.get_log("browser")  # start each test with an empty console
    yield browser
    browser.delete_all_cookies()


def sign_in(driver: Any, base: str, username: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}/accounts/login/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, WAIT_S).until(lambda d: "/accounts/login/" not in d.current_url)


def console_errors(driver: Any) -> list[str]:
    """Errors in the page's console, leaving out the blocked tiles and the missing favicon."""
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    return [m for m in errors if "tile" not in m and "favicon.ico" not in m]


@pytest.fixture
def cameras(ward_a: WardWorld) -> list[Camera]:
    ward = ward_a.ward
    made = [
        # Three cameras a few metres apart at a junction: grouped into one cluster.
        camera_in(ward, location=Point(106.7800, 10.8400, srid=4326)),
        camera_in(ward, location=Point(106.78003, 10.84002, srid=4326), heading=180),
        camera_in(ward, location=Point(106.78006, 10.84001, srid=4326), status=Camera.Status.OFFLINE),
        # Three more spread over the ward.
        camera_in(ward, location=Point(106.7650, 10.8550, srid=4326)),
        camera_in(ward, location=Point(106.7950, 10.8250, srid=4326), status=Camera.Status.OFFLINE),
        camera_in(ward, location=Point(106.7650, 10.8250, srid=4326), status=Camera.Status.MAINTENANCE),
    ]
    return made


def test_coverage_map_draws_and_filters_cameras(page: Any, live_server: Any, ward_a: WardWorld, cameras: list) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    sign_in(page, live_server.url, "official.a")
    page.get(f"{live_server.url}/map/")
    wait = WebDriverWait(page, WAIT_S)
    container = wait.until(lambda d: d.find_element(By.ID, "coverage"))
    wait.until(lambda d: container.get_attribute("data-ready") == "1")

    assert container.get_attribute("data-cameras") == str(len(cameras))
    # Cameras and fields of view are drawn on a canvas; nearby cameras are grouped in a cluster.
    assert page.find_elements(By.CSS_SELECTOR, "#coverage .leaflet-overlay-pane canvas")
    clusters = page.find_elements(By.CSS_SELECTOR, "#coverage .marker-cluster")
    assert clusters, "the three cameras at the junction should be grouped"
    assert any(c.text.strip() == "3" for c in clusters)
    # Legend of status colours and programme rings on the map.
    legend = page.find_element(By.CSS_SELECTOR, "#coverage .map-legend")
    assert legend.is_displayed()
    assert len(legend.find_elements(By.CSS_SELECTOR, ".dot[class*=status-]")) >= 5
    assert len(legend.find_elements(By.CSS_SELECTOR, ".ring[class*=prog-]")) >= 4
    # No tiles (blocked): the page says so and works on.
    wait.until(lambda d: d.find_element(By.ID, "map-tiles-note").is_displayed())

    offline = page.find_element(By.CSS_SELECTOR, ".map-panel input[name=status][value=offline]")
    offline.click()
    wait.until(lambda d: container.get_attribute("data-cameras") == "4")
    assert "4" in page.find_element(By.ID, "map-status").text

    offline.click()
    wait.until(lambda d: container.get_attribute("data-cameras") == str(len(cameras)))
    assert console_errors(page) == []


def test_dashboard_and_language_switch(page: Any, live_server: Any, ward_a: WardWorld, cameras: list) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    sign_in(page, live_server.url, "official.a")
    page.get(f"{live_server.url}/")
    assert page.find_element(By.TAG_NAME, "h1").text == "Phường A"
    table = page.find_element(By.ID, "coverage-table")
    rows = [r.text for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert any(r.startswith("A north") for r in rows) and any(r.startswith("A south") for r in rows)
    assert page.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"

    nav_link = "header nav a[href='/']"
    vietnamese = page.find_element(By.CSS_SELECTOR, nav_link).text
    page.find_element(By.CSS_SELECTOR, "form.lang button[value=en]").click()
    WebDriverWait(page, WAIT_S).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
    english = page.find_element(By.CSS_SELECTOR, nav_link).text
    assert english == "Dashboard"
    assert vietnamese != english, "the Vietnamese page showed the English menu"
    assert page.find_element(By.TAG_NAME, "h1").text == "Phường A"
    assert console_errors(page) == []
