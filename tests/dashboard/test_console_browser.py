"""The console in a real headless Chromium: read the DLQ count and redrive; then, on the whole local stage,
pause a mapping, search 2,000 dead letters and redrive one run's letters in bulk.

Screenshots go to a temporary folder; with ``RELAY_SCREENSHOTS=1`` they go to ``docs/`` (console.png,
console-search.png, console-bulk.png, console-paused.png — the README's pictures), so ``make test`` never
rewrites them.

Set-up installs Debian's ``chromium`` and ``chromium-driver`` when /usr/bin/chromium is missing (CI runs
as root on a fresh machine). The console runs as ``streamlit run dashboard/app.py`` in a subprocess on a
free loopback port, against the in-process emulator (or the local stage's).
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.dashboard.stage_fixture import Stage, build_stage, job_body

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

pytestmark = [pytest.mark.browser, pytest.mark.heavy(seconds=60)]


@pytest.fixture()
def stage(emulator: Any, aws_env: str) -> Stage:
    """A stage named ``demo`` (it shows in the screenshot); only this test uses the name."""
    return build_stage(emulator.client, stage="demo")


def _ensure_chromium() -> None:
    if Path(CHROMIUM).exists() and Path(DRIVER).exists():
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "chromium", "chromium-driver"]
    if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True, capture_output=True)
        subprocess.run(cmd, env=env, check=True, capture_output=True)
    assert Path(CHROMIUM).exists() and Path(DRIVER).exists(), "chromium / chromium-driver did not install"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: docs/ only when asked (``RELAY_SCREENSHOTS=1``, ``make screenshots``)."""
    where = ROOT / "docs" if os.environ.get("RELAY_SCREENSHOTS") == "1" else tmp_path / "screenshots"
    where.mkdir(exist_ok=True)
    return where


def _shoot(driver: Any, path: Path, top: str | None = None) -> None:
    """Save a screenshot; ``top`` (an XPath) is scrolled to the top of the view first."""
    if top:
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", _wait(driver, top))
    time.sleep(1)  # let tables and progress bars paint before the picture
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


@pytest.fixture()
def console_url(stage: Stage, aws_env: str, tmp_path: Path) -> Iterator[str]:
    with _serve_console(stage.name, aws_env, tmp_path) as url:
        yield url


@contextlib.contextmanager
def _serve_console(stage_name: str, endpoint: str, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "RELAY_STAGE": stage_name, "AWS_ENDPOINT_URL": endpoint}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=open(tmp_path / "streamlit.log", "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/_stcore/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, (tmp_path / "streamlit.log").read_text()
            time.sleep(0.2)
        else:
            pytest.fail("streamlit did not come up: " + (tmp_path / "streamlit.log").read_text())
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Any]:
    _ensure_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'chrome'}", "--window-size=1400,1100"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: Any, xpath: str, timeout: float = 90) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(ec.visibility_of_element_located((By.XPATH, xpath)))


def _metric(driver: Any, label: str) -> str:
    el = _wait(driver, f"//div[@data-testid='stMetric'][.//*[contains(text(), '{label}')]]"
                       "//div[@data-testid='stMetricValue']")
    return el.text.strip()


def test_browser_reads_dlq_count_and_redrives(stage: Stage, console_url: str, browser: Any, shots: Path) -> None:
    o = stage.outputs
    stage.fill(o["job_dlq_url"], [job_body(f"run_{i:02d}", i % 3) for i in range(12)])
    browser.get(console_url)  # the router first (st.navigation), then the page from the sidebar
    _wait(browser, "//a[@data-testid='stSidebarNavLink'][contains(@href, '/dead_letters')]").click()
    assert _metric(browser, "Messages in job DLQ") == "12"
    _wait(browser, f"//p[contains(., 'Stage {stage.name}')]")  # the header names the stage
    _wait(browser, "//p[contains(., 'Showing 12 of 12 peeked')]")
    _shoot(browser, shots / "console.png")

    _wait(browser, "//button[normalize-space(.)='Redrive all']").click()
    go = _wait(browser, "//button[.//p[text()='Confirm']]")
    assert "Move all 12 message(s)" in browser.find_element("xpath", "//*[@role='dialog']").text
    go.click()
    _wait(browser, "//p[contains(., 'Move all 12 message(s)') and contains(., 'task ')]")

    deadline = time.monotonic() + 20
    while stage.count(o["job_dlq_url"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stage.count(o["job_dlq_url"]) == 0
    assert stage.visible(o["job_queue_url"]) == 12

    # the console caches reads for a few seconds (loaders.py TTLs): within them it must show the truth
    deadline = time.monotonic() + 20
    while True:
        browser.refresh()
        if _metric(browser, "Messages in job DLQ") == "0" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert _metric(browser, "Messages in job DLQ") == "0"
    _wait(browser, "//p[contains(., 'COMPLETED: 12/12 moved')]")


# ---- a bad night on the whole local stage ---------------------------------------------------------------------
@pytest.fixture()
def local() -> Iterator[Any]:
    from relay.local.stage import LocalStage

    with LocalStage("local", plane_options={"poll_interval": 0.3}) as stage:
        yield stage


def _nav(driver: Any, title: str) -> None:
    _wait(driver, f"(//a[@data-testid='stSidebarNavLink'][contains(., '{title}')])[1]").click()


def _click(driver: Any, xpath: str, timeout: float = 90) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(ec.element_to_be_clickable((By.XPATH, xpath))).click()


def _type(driver: Any, label: str, text: str, nth: int = 1) -> None:
    from selenium.webdriver.common.keys import Keys

    box = _wait(driver, f"(//input[@aria-label='{label}'])[{nth}]")
    box.send_keys(text + Keys.ENTER)  # Streamlit commits a text input on Enter (or blur)


def _confirm(driver: Any, says: str) -> None:
    go = _wait(driver, "//button[.//p[text()='Confirm']]")
    assert says in driver.find_element("xpath", "//*[@role='dialog']").text
    go.click()


def test_browser_pauses_searches_and_redrives_in_bulk_on_the_local_stage(local: Any, browser: Any, shots: Path,
                                                                        tmp_path: Path) -> None:
    from dashboard import bulk
    from dashboard.aws import clients
    from tests.dashboard.local_night import TARGET_RUN, fill_job_dlq, purge, wait_for

    o, sqs = local.outputs, local.client("sqs")
    purge(sqs, o["job_dlq_url"])
    fill_job_dlq(sqs, local.client("dynamodb"), o)
    with _serve_console("local", local.endpoint_url, tmp_path) as url:
        browser.get(url)
        # pause what is burning: the job queue's mapping, with the reason everyone will see
        _nav(browser, "Mappings")
        _type(browser, "Reason (shown to everyone until it is resumed)", "email provider down (INC-42)")
        _click(browser, "(//button[normalize-space(.)='Pause'])[1]")
        _confirm(browser, "Pause the job queue → job worker mapping")
        wait_for(lambda: local.plane.mappings()[o["job_worker_esm_uuid"]].enabled is False, 15, what="paused")
        _nav(browser, "Overview")
        _wait(browser, "//*[@data-testid='stAlertContainer' or @data-testid='stAlert']"
                       "[contains(., 'PAUSED: the job queue → job worker mapping') and contains(., 'INC-42')]")
        _shoot(browser, shots / "console-paused.png")

        # find every dead letter of one run among 2,000
        _nav(browser, "DLQ search")
        _wait(browser, "//div[@data-testid='stMetricValue'][normalize-space(.)='2000']")
        _type(browser, "Run id", TARGET_RUN)
        _click(browser, "//button[normalize-space(.)='Search']")
        # a scan over HTTP on a shared 2-core machine: generous bounds, the assertions are about what, not how fast
        _wait(browser, "//p[contains(., '300 letter(s) match') and contains(., 'completed')]", timeout=240)
        _shoot(browser, shots / "console-search.png", top="//h3[contains(., 'Saved selection')]")

        # fix them in bulk at 50/s, and watch it go
        _click(browser, "//button[normalize-space(.)='Redrive selection (300)']")
        _confirm(browser, "Redrive the 300 selected letter(s)")
        store = bulk.store_for(clients(), o)
        task = wait_for(lambda: next((t for t in store.list() if t.kind == "redrive"), None), 60, what="the task")
        # the picture while it runs (at 50/s the 300 take at least 6 s: the page refreshes every second)
        _wait(browser, "//*[@data-testid='stProgress'][contains(., 'moved of 300') and contains(., 'running')]"
                       "[not(contains(., ' 0 moved of'))]", 240)
        _shoot(browser, shots / "console-bulk.png", top="//h3[contains(., 'Act')]")
        done = wait_for(lambda: (t := store.get(task.task_id)).status == "COMPLETED" and t, 240, 0.2, "the redrive")
        assert done.count("moved") == 300
        _wait(browser, "//*[@data-testid='stProgress'][contains(., '300 moved of 300') and contains(., 'completed')]",
              timeout=60)
    moved = purge(sqs, o["job_queue_url"])  # the paused mapping kept them in the job queue
    assert sorted(json.loads(m["Body"])["seq"] for m in moved) == list(range(300)), "0 lost, 0 duplicated"
