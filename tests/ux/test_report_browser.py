"""The sweep report in a real browser: Debian's headless Chromium, driven through chromedriver by Selenium.

The page is opened from disk, as a user opens it from a mail or a file manager. The
tests assert what a reader sees: the member rows (failures first), plots drawn with
their points inside them, sorting on a click, and a console with no errors.
"""

from __future__ import annotations

import shutil
import tempfile

import pytest

from tests.helpers.cli import run_rompy
from tests.helpers.runs import transport_sweep

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium as root: no sandbox, no GPU, no network of its own, a fresh profile."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            pytest.fail(f"{path} is missing: bash scripts/install-system.sh installs chromium and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="rompy-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run",
                     f"--user-data-dir={profile}", "--window-size=1280,1600"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def report_page(workdir, browser):
    sweep = transport_sweep(workdir)
    proc = run_rompy("report", str(sweep.dir), cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    browser.get_log("browser")  # what earlier pages logged
    browser.get((sweep.dir / "report.html").as_uri())
    return browser


def member_order(driver) -> list[str]:
    return [row.get_attribute("data-member") for row in driver.find_elements("css selector", "table.members tbody tr")]


def test_rows_and_plots_render_without_console_errors(report_page, tmp_path):
    driver = report_page
    assert driver.title.startswith("rompy sweep ")
    rows = driver.find_elements("css selector", "table.members tbody tr")
    assert len(rows) == 4 and all(row.is_displayed() for row in rows)
    first = rows[0].find_elements("css selector", "td")
    assert first[1].text == "failed" and "transport undefined below 40 m" in first[4].text
    assert member_order(driver) == ["3", "0", "1", "2"], "failures first"

    plots = driver.find_elements("css selector", "figure svg.plot")
    assert len(plots) == 3
    for plot in plots:
        assert plot.is_displayed() and plot.size["width"] > 300 and plot.size["height"] > 200
    figure = driver.find_element("css selector", 'figure[data-metric="transport_sv"]')
    inside = driver.execute_script("""
        const svg = arguments[0].querySelector('svg').getBoundingClientRect();
        return [...arguments[0].querySelectorAll('circle')].map(c => {
            const r = c.getBoundingClientRect();
            return r.width > 0 && r.left >= svg.left && r.right <= svg.right && r.top >= svg.top && r.bottom <= svg.bottom;
        });""", figure)
    assert inside == [True, True, True], "three points drawn, inside their plot"

    shot = tmp_path / "report.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_clicking_a_column_sorts_the_table(report_page):
    driver = report_page
    header = driver.find_element("xpath", "//table[contains(@class,'members')]//th[text()='transport_sv']")
    header.click()
    assert member_order(driver) == ["0", "1", "2", "3"], "by transport, the member without one last"
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert member_order(driver) == ["3", "2", "1", "0"]
    driver.find_element("xpath", "//table[contains(@class,'members')]//th[text()='status']").click()
    assert member_order(driver)[0] == "3", "failures first again"
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
