"""A real Chromium on a real ASGI server (uvicorn): the ops page receives a new alert over the socket and handles it
from the keyboard; the live wall shows the supervisor's latest frame and a placeholder where none.

pytest-django's ``live_server`` speaks WSGI only, so it cannot carry ``/ws/alerts/``: uvicorn runs in a
subprocess against the test database (like the Celery worker in test_worker.py), and the browser loads
everything from it. Alerts raised in this process reach the page through the server's embedded relay,
which reads the event log, as the worker's alerts do in the embedded mode.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from PIL import Image

from analytics.models import Alert, AlertEvent
from analytics.services import raise_alert
from tests.base.browser import chromium
from tests.base.factories import camera_in
from tests.conftest import WardWorld

pytestmark = pytest.mark.browser

WAIT_S = 15
ROOT = Path(__file__).resolve().parent.parent


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 36), (40, 90, 160)).save(out, "JPEG")
    return out.getvalue()


def server_env(media: Path) -> dict[str, str]:
    """The server uses the test database, this process's var folder (same secret key) and ``media``."""
    env = dict(os.environ)
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        env["SQLITE_PATH"] = str(db["NAME"])
    env["MATTHAN_VAR_DIR"] = str(settings.VAR_DIR)
    env["MEDIA_ROOT"] = str(media)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def media(tmp_path: Path) -> Path:
    (tmp_path / "media" / "live").mkdir(parents=True)
    return tmp_path / "media"


@pytest.fixture
def web(transactional_db: Any, media: Path, tmp_path: Path) -> Iterator[str]:
    """The ASGI server (uvicorn) on a free port, on the test database, serving pages, API, static files and /ws/alerts/."""
    port = free_port()
    env = server_env(media)
    log = (tmp_path / "web.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "portal.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/accounts/login/", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("The ASGI server (uvicorn) did not start:\n" + (tmp_path / "web.log").read_text())
        time.sleep(0.2)
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def page(browser: Any, web: str) -> Iterator[Any]:
    """The browser, left on a blank page afterwards so its sockets close before the server stops."""
    browser.get_log("browser")
    yield browser
    browser.get("about:blank")
    browser.delete_all_cookies()


def sign_in(driver: Any, base: str, user: Any) -> None:
    """The session is made here (the test process) and handed to the browser as its cookie."""
    client = Client()
    client.force_login(user)
    driver.get(f"{base}/accounts/login/")
    driver.delete_all_cookies()
    driver.add_cookie(
        {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "path": "/"}
    )


def console_errors(driver: Any) -> list[str]:
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    return [m for m in errors if "tile" not in m and "favicon.ico" not in m and "live.jpg" not in m]


def test_ops_page_gets_a_new_alert_live_and_handles_it_from_the_keyboard(
    transactional_db: Any, web: str, page: Any, ward_a: WardWorld
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    camera = camera_in(ward_a.ward, code="OPS-1", name="Chợ A")
    older, _e = raise_alert(camera=camera, type="loitering", at=timezone.now() - dt.timedelta(hours=1))
    sign_in(page, web, ward_a.users["operator"])
    page.get(f"{web}/ops/")
    wait = WebDriverWait(page, WAIT_S)
    wait.until(lambda d: d.find_element(By.ID, "feed").get_attribute("data-ready") == "1")
    wait.until(lambda d: d.find_element(By.ID, "ops-conn").get_attribute("data-state") == "live")
    wait.until(lambda d: d.find_element(By.ID, "ops-map").get_attribute("data-ready") == "1")
    # The newest alert is selected: its details, and its camera pulsing on the map.
    wait.until(lambda d: d.find_element(By.ID, "detail").get_attribute("data-alert") == str(older.pk))
    wait.until(lambda d: d.find_element(By.ID, "ops-map").get_attribute("data-pulse") == str(camera.pk))
    assert page.find_elements(By.CSS_SELECTOR, "#ops-map .pulse-icon.pulse-selected")

    # Raised by another officer, in another process: the page hears of it through the socket.
    alert, _event = raise_alert(camera=camera, type="manual", note="Cháy rác nhỏ", actor=ward_a.users["investigator"])
    item_css = f'#feed .alert-item[data-id="{alert.pk}"]'
    item = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, item_css))
    assert "OPS-1" in item.text and "Cháy rác nhỏ" in item.text
    assert item.get_attribute("data-status") == "new"
    ids = [i.get_attribute("data-id") for i in page.find_elements(By.CSS_SELECTOR, "#feed .alert-item")]
    assert ids == [str(alert.pk), str(older.pk)], "newest first"

    item.click()
    wait.until(lambda d: d.find_element(By.ID, "detail").get_attribute("data-alert") == str(alert.pk))
    wait.until(lambda d: "Cháy rác nhỏ" in d.find_element(By.ID, "d-history").text)  # history from the API

    page.find_element(By.TAG_NAME, "body").send_keys("a")
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, item_css).get_attribute("data-status") == "acknowledged")
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED and alert.handled_by == ward_a.users["operator"]
    wait.until(lambda d: "operator.a" in d.find_element(By.ID, "d-history").text)

    # "d" asks the reason; an empty one is refused before any request, a given one dismisses.
    page.find_element(By.TAG_NAME, "body").send_keys("d")
    dialog = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#text-dialog[open]"))
    dialog.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert page.find_element(By.ID, "text-error").text
    page.find_element(By.ID, "text-input").send_keys("Người dân đốt lá, đã dập")
    dialog.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, item_css).get_attribute("data-status") == "dismissed")
    alert.refresh_from_db()
    assert alert.dismiss_reason == "Người dân đốt lá, đã dập"
    assert list(AlertEvent.objects.filter(alert=alert).values_list("kind", flat=True)) == ["raised", "acknowledged", "dismissed"]
    assert Alert.objects.get(pk=older.pk).status == Alert.Status.NEW
    assert console_errors(page) == []


def test_wall_shows_latest_frames_and_opens_one_camera(
    transactional_db: Any, web: str, media: Path, page: Any, ward_a: WardWorld
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with_frame = camera_in(ward_a.ward, code="W-1")
    without = camera_in(ward_a.ward, code="W-2")
    (media / "live" / f"{with_frame.pk}.jpg").write_bytes(jpeg())
    raise_alert(camera=with_frame, type="loitering", note="")
    sign_in(page, web, ward_a.users["investigator"])
    page.get(f"{web}/wall/")
    wait = WebDriverWait(page, WAIT_S)
    wait.until(lambda d: d.find_element(By.ID, "wall-grid").get_attribute("data-ready") == "1")

    def tile(camera: Any) -> Any:
        return page.find_element(By.CSS_SELECTOR, f'.tile[data-id="{camera.pk}"]')

    wait.until(lambda d: tile(with_frame).get_attribute("data-frame") == "live")
    wait.until(lambda d: tile(without).get_attribute("data-frame") == "missing")
    assert tile(without).find_element(By.CSS_SELECTOR, ".no-image").is_displayed()
    wait.until(lambda d: tile(with_frame).find_element(By.CSS_SELECTOR, ".sev-dot"))
    assert "W-1" in tile(with_frame).text
    wait.until(lambda d: d.find_element(By.ID, "ops-conn").get_attribute("data-state") == "live")

    # Status and last alert follow the socket: the health probe's "offline" alert turns the badge.
    assert tile(without).find_elements(By.CSS_SELECTOR, ".cam-status.status-online")
    raise_alert(camera=without, type="camera_offline")
    wait.until(lambda d: tile(without).find_elements(By.CSS_SELECTOR, ".cam-status.status-offline"))
    assert tile(without).find_elements(By.CSS_SELECTOR, ".tile-alert .sev-dot")

    tile(with_frame).click()
    single = wait.until(lambda d: d.find_element(By.ID, "wall-single"))
    wait.until(lambda d: single.is_displayed() and single.get_attribute("data-frame") == "live")
    assert "W-1" in page.find_element(By.ID, "single-title").text
    page.find_element(By.ID, "single-close").click()
    wait.until(lambda d: d.find_element(By.ID, "wall-grid").is_displayed())
    assert console_errors(page) == []
