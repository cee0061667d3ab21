"""The dashboard in a real browser: ``sim dashboard`` started as a process, headless
Chromium driven by Selenium loads the page, moves the LPR slider, shortens the run, runs
it and reads the headline number off the page.

Chromium and its driver come from Debian's packages (``apt-get install chromium
chromium-driver``); Selenium is given both paths and downloads nothing. Without them the
test is skipped, unless XIAOWEI_BROWSER_TESTS=1 (set by CI), when it fails.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LPR_SLIDER = ".xw-lever-central-bank-lpr-1y-annual [role=slider]"
LPR_LABEL = ".xw-lever-central-bank-lpr-1y-annual label"
SERVER_START_SECONDS = 90
RUN_SECONDS = 150


def _required() -> bool:
    return os.environ.get("XIAOWEI_BROWSER_TESTS") == "1"


def _browser_paths() -> tuple[str, str]:
    """Chromium and chromedriver, or a skip (a failure when browser tests are required)."""
    found = {name: path if Path(path).is_file() else shutil.which(Path(path).name)
             for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER))}
    missing = [name for name, path in found.items() if not path]
    if importlib.util.find_spec("selenium") is None:
        missing.append("selenium (pip install -e '.[dev]')")
    if missing:
        reason = (f"browser test needs {', '.join(missing)}: apt-get install chromium "
                  "chromium-driver")
        if _required():
            pytest.fail(f"XIAOWEI_BROWSER_TESTS=1 but {reason}")
        pytest.skip(reason)
    return found["chromium"], found["chromedriver"]



def _wait_for_page(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"sim dashboard exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the dashboard did not answer at {url}:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dashboard")


@pytest.fixture(scope="module")
def dashboard_server(server_folder):
    """``sim dashboard --no-browser`` on a free port, started in ``server_folder`` (its
    run folders go to results/dashboard there); yields the page's URL and the server's
    process id."""
    tmp_path = server_folder
    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "sim", "dashboard", "--no-browser", "--port", str(port)],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for_page(url, server, log)
        yield url, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture(scope="module")
def dashboard(dashboard_server):
    """The running dashboard's URL."""
    return dashboard_server[0]


def test_the_server_listens_on_127_0_0_1_only(dashboard_server):
    import psutil

    _, pid = dashboard_server
    server = psutil.Process(pid)
    listening = {c.laddr.ip for process in (server, *server.children(recursive=True))
                 for c in process.net_connections("inet") if c.status == psutil.CONN_LISTEN}
    assert listening == {"127.0.0.1"}


@pytest.fixture
def browser(monkeypatch):
    chromium, chromedriver = _browser_paths()
    # both paths are given, so Selenium Manager is not needed; offline, it could not
    # download a browser or driver even if it ran
    monkeypatch.setenv("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_move_a_lever_run_and_read_the_headline(browser, dashboard, server_folder):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    started = time.monotonic()
    browser.get(dashboard)
    wait = WebDriverWait(browser, 60)
    lpr = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, LPR_SLIDER))
    assert lpr.get_attribute("aria-valuenow") == "3.45"

    # the LPR down 0.45 points (9 steps of 0.05), from the start; one key at a time,
    # each waited for, as a person would
    for _ in range(9):
        before = lpr.get_attribute("aria-valuenow")
        lpr.send_keys(Keys.ARROW_LEFT)
        wait.until(lambda d: lpr.get_attribute("aria-valuenow") != before)
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, LPR_LABEL).text
               == "1-year LPR: 3 % a year (moved)")
    # 20,000 SMEs (the lowest) and the shortest horizon, 2024 alone
    browser.find_element(By.CSS_SELECTOR, ".xw-agents [role=slider]").send_keys(Keys.HOME)
    browser.find_element(By.CSS_SELECTOR, ".xw-last-year [role=slider]").send_keys(Keys.HOME)
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".xw-last-year label").text
               == "Last year: 2024")
    assert browser.find_element(By.CSS_SELECTOR, ".xw-agents label").text == \
        "SMEs simulated: 20,000"

    browser.find_element(By.CSS_SELECTOR, ".xw-run").click()
    WebDriverWait(browser, RUN_SECONDS).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".xw-stage-done, .xw-stage-failed"))
    assert not browser.find_elements(By.CSS_SELECTOR, ".xw-stage-failed"), \
        browser.find_element(By.CSS_SELECTOR, ".xw-main").text
    headline = browser.find_element(By.ID, "headline-new-loans")
    value = float(headline.text.replace(",", ""))
    assert math.isfinite(value) and value > 0
    assert float(headline.get_attribute("data-value")) == pytest.approx(value, abs=0.05)
    assert "2024Q4" in browser.find_element(By.CSS_SELECTOR, ".xw-headline-line").text

    # the run folder: in the dashboard's results folder, with the move as a change
    (folder,) = (server_folder / "results" / "dashboard").iterdir()
    meta = json.loads((folder / "run.json").read_text())
    assert meta["agents"] == 20_000
    assert meta["scenario"]["run"]["end"] == "2024Q4"
    assert meta["scenario"]["change"][-1]["set"] == {"central_bank.lpr_1y_annual": 0.03}
    assert folder.name in browser.find_element(By.CSS_SELECTOR, ".xw-run-dir").text
    assert time.monotonic() - started < RUN_SECONDS


CRAFTED_PATHS = [
    "/../../etc/passwd", "/results/dashboard/", "/static/public/../../../../etc/passwd",
    "/static/..%2f..%2f..%2f..%2fetc/passwd", "/_solara/cdn/../../../../etc/passwd",
    "/_solara/cdn/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/_solara/cdn/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/jupyter/nbextensions/..%2f..%2f..%2f..%2f..%2f..%2fetc/passwd",
]


def _get(url: str, path: str) -> tuple[int, bytes]:
    """A GET of ``path`` exactly as written (no client-side clean-up of ``..``)."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_crafted_paths_reach_no_file_and_fetch_nothing(dashboard):
    for path in CRAFTED_PATHS:
        status, body = _get(dashboard, path)
        assert status == 404 and b"root:" not in body, (path, status)
    # a script the installed assets lack: Solara's proxy would download it from a CDN
    # into its cache folder; here it fetches nothing and writes nothing
    cache = Path(sys.prefix) / "share" / "solara" / "cdn"
    before = sorted(cache.rglob("*")) if cache.exists() else []
    status, _ = _get(dashboard, "/_solara/cdn/left-pad@1.3.0/index.js")
    assert status == 404
    assert (sorted(cache.rglob("*")) if cache.exists() else []) == before
