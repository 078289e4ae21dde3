"""A real Chromium on the Analysis page: a ward admin uploads a still of the camera (a vtest.avi frame),
draws a zone and a counting line with the mouse, adds rules, saves; the settings row then holds the
shapes in pixels of the 768×576 image, whatever size the page showed it at. A rule the pipeline
cannot run is refused with its message next to the rule, and the drawing stays.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analytics.models import AnalysisSettings
from tests.base.analysis import new_camera
from tests.base.browser import chromium
from tests.conftest import WardWorld
from tests.test_browser import console_errors, sign_in

pytestmark = pytest.mark.browser

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
WAIT_S = 20


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium(lang="vi") as driver:
        yield driver


@pytest.fixture
def still(tmp_path: Path) -> Path:
    import cv2

    if not VTEST.exists():
        pytest.skip("Debian's opencv-doc (vtest.avi) is not installed")
    capture = cv2.VideoCapture(str(VTEST))
    ok, frame = capture.read()
    capture.release()
    assert ok and frame.shape[:2] == (576, 768)
    path = tmp_path / "still.jpg"
    cv2.imwrite(str(path), frame)
    return path


def close(actual: list, expected: list, tolerance: float = 2.5) -> bool:
    return len(actual) == len(expected) and all(
        abs(a[0] - e[0]) <= tolerance and abs(a[1] - e[1]) <= tolerance for a, e in zip(actual, expected, strict=True)
    )


def test_admin_draws_a_zone_and_a_line_and_saves_them_in_image_pixels(
    browser: Any, live_server: Any, ward_a: WardWorld, still: Path, settings: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    settings.MEDIA_ROOT = tmp_path / "media"
    camera = new_camera(ward_a.ward)
    page = browser
    page.delete_all_cookies()
    sign_in(page, live_server.url, "admin.a")
    page.get(f"{live_server.url}/cameras/{camera.pk}/")
    page.find_element(By.CSS_SELECTOR, f"a[href='/cameras/{camera.pk}/analysis/']").click()
    wait = WebDriverWait(page, WAIT_S)

    # The still becomes the drawing background (no live frame for this camera).
    wait.until(lambda d: d.find_element(By.ID, "an-snapshot-file")).send_keys(str(still))
    page.find_element(By.CSS_SELECTOR, ".an-upload button[type=submit]").click()
    wait.until(
        lambda d: (
            d.execute_script("var i = document.getElementById('an-background'); return i && !i.hidden && i.naturalWidth;") == 768
        )
    )

    svg = page.find_element(By.ID, "an-svg")
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", svg)
    width, height = svg.rect["width"], svg.rect["height"]
    assert abs(width / height - 768 / 576) < 0.01 and abs(width - 768) > 20  # scaled on screen

    def to_image(dx: int, dy: int) -> list[float]:
        # Selenium offsets are from the element's centre, in CSS pixels.
        return [(dx + width / 2) * 768 / width, (dy + height / 2) * 576 / height]

    corners = [(-200, -150), (100, -160), (120, 60), (-180, 80)]
    page.find_element(By.CSS_SELECTOR, "[data-tool=zone]").click()
    actions = ActionChains(page)
    for dx, dy in corners[:-1]:
        actions.move_to_element_with_offset(svg, dx, dy).click()
    actions.move_to_element_with_offset(svg, *corners[-1]).double_click()
    actions.perform()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#an-zones li.an-item")) == 1)
    name = page.find_element(By.CSS_SELECTOR, "#an-zones .an-name")
    name.clear()
    name.send_keys("cổng chợ", Keys.TAB)

    ends = [(-250, 150), (250, 140)]
    page.find_element(By.CSS_SELECTOR, "[data-tool=line]").click()
    actions = ActionChains(page)
    for dx, dy in ends:
        actions.move_to_element_with_offset(svg, dx, dy).click()
    actions.perform()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#an-lines li.an-item")) == 1)
    assert page.find_elements(By.CSS_SELECTOR, "#an-svg .an-arrow")  # which side is forward

    rule_type = Select(page.find_element(By.ID, "an-rule-type"))
    for kind in ("zone_intrusion", "line_crossing"):
        rule_type.select_by_value(kind)
        page.find_element(By.ID, "an-add-rule").click()
    page.find_element(By.ID, "an-record").click()
    page.find_element(By.ID, "an-save").click()
    wait.until(lambda d: "ok" in d.find_element(By.ID, "an-status").get_attribute("class"))

    saved = AnalysisSettings.objects.get(camera=camera)
    assert (saved.image_width, saved.image_height) == (768, 576)
    assert saved.zones[0]["name"] == "cổng chợ" and saved.zones[0]["kind"] == "intrusion"
    assert close(saved.zones[0]["polygon"], [to_image(*c) for c in corners]), saved.zones
    assert close(saved.lines[0]["points"], [to_image(*e) for e in ends]), saved.lines
    assert [(r["type"], r.get("zones"), r.get("lines")) for r in saved.rules] == [
        ("zone_intrusion", ["cổng chợ"], None),
        ("line_crossing", None, [saved.lines[0]["name"]]),
    ]
    assert saved.record

    # Encroachment needs a sidewalk or roadway zone: refused, the message shows on that rule, nothing lost.
    rule_type.select_by_value("encroachment")
    page.find_element(By.ID, "an-add-rule").click()
    page.find_element(By.ID, "an-save").click()
    wait.until(lambda d: "error" in d.find_element(By.ID, "an-status").get_attribute("class"))
    third_rule = page.find_elements(By.CSS_SELECTOR, "#an-rules li.an-rule")[2]
    assert "rules.2" in third_rule.find_element(By.CSS_SELECTOR, ".an-item-errors").text
    assert len(page.find_elements(By.CSS_SELECTOR, "#an-zones li.an-item")) == 1
    saved.refresh_from_db()
    assert len(saved.rules) == 2
    # The refused save is the only error in the console.
    assert [m for m in console_errors(page) if "400 (Bad Request)" not in m] == []
