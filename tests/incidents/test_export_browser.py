"""A real Chromium on a case page: the investigator exports the case, follows it, gets the bundle link;
anyone checks the bundle on the public page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from incidents.models import ExportJob
from tests.base.browser import chromium
from tests.incidents.test_export import REASON
from tests.test_browser import console_errors, sign_in

pytestmark = pytest.mark.browser
WAIT_S = 60


@pytest.fixture
def eager() -> Iterator[None]:
    from portal.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


def test_investigator_exports_from_the_case_page_and_anyone_checks_it(
    live_server: Any,
    filled_case: Any,
    ward_a: Any,
    media: Path,
    keys: Any,
    eager: None,  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium(lang="en") as page:
        sign_in(page, live_server.url, "investigator.a")
        page.get(f"{live_server.url}/cases/{filled_case.pk}/")
        assert keys.fingerprint in page.page_source
        # No reason: the API's message is shown, nothing is queued.
        page.execute_script("document.getElementById('export-reason').removeAttribute('required')")
        page.find_element(By.ID, "export-start").click()
        WebDriverWait(page, WAIT_S).until(lambda d: d.find_element(By.ID, "export-error").text.strip())
        assert not ExportJob.objects.exists()

        page.find_element(By.ID, "export-reason").send_keys(REASON)
        page.find_element(By.ID, "export-redacted").click()
        page.find_element(By.ID, "export-redacted").click()  # on, then off again: a plain export
        page.find_element(By.ID, "export-start").click()
        link = WebDriverWait(page, WAIT_S).until(
            lambda d: (
                d.find_element(By.ID, "export-download") if d.find_element(By.ID, "export-download").is_displayed() else None
            )
        )
        job = ExportJob.objects.get()
        assert job.status == ExportJob.Status.DONE and not job.redacted and job.reason == REASON
        assert link.get_attribute("href").endswith(f"/api/exports/{job.pk}/download/")
        assert [e for e in console_errors(page) if "400 (Bad Request)" not in e] == []  # the 400 was the missing reason

        # The public page, signed out.
        page.delete_all_cookies()
        page.get(f"{live_server.url}/verify/")
        page.find_element(By.ID, "bundle").send_keys(str(media / job.file.name))
        page.find_element(By.CSS_SELECTOR, "#verify-form button[type=submit]").click()
        result = WebDriverWait(page, WAIT_S).until(lambda d: d.find_element(By.ID, "verify-result"))
        assert result.get_attribute("data-ok") == "true", result.text
