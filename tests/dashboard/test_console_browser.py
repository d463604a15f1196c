"""The console in a real headless Chromium: read the DLQ count, save docs/console.png, redrive.

Set-up installs Debian's ``chromium`` and ``chromium-driver`` when /usr/bin/chromium is missing (CI runs
as root on a fresh machine). The console runs as ``streamlit run dashboard/app.py`` in a subprocess on a
free loopback port, against the in-process emulator.
"""
from __future__ import annotations

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
SCREENSHOT = ROOT / "docs" / "console.png"
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

pytestmark = pytest.mark.browser


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
def console_url(stage: Stage, aws_env: str, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "RELAY_STAGE": stage.name, "AWS_ENDPOINT_URL": aws_env}
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


def _wait(driver: Any, xpath: str, timeout: float = 30) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(ec.visibility_of_element_located((By.XPATH, xpath)))


def _metric(driver: Any, label: str) -> str:
    el = _wait(driver, f"//div[@data-testid='stMetric'][.//*[contains(text(), '{label}')]]"
                       "//div[@data-testid='stMetricValue']")
    return el.text.strip()


def test_browser_reads_dlq_count_and_redrives(stage: Stage, console_url: str, browser: Any) -> None:
    o = stage.outputs
    stage.fill(o["job_dlq_url"], [job_body(f"run_{i:02d}", i % 3) for i in range(12)])
    browser.get(console_url)  # the router first (st.navigation), then the page from the sidebar
    _wait(browser, "//a[@data-testid='stSidebarNavLink'][contains(@href, '/dead_letters')]").click()
    assert _metric(browser, "Messages in job DLQ") == "12"
    _wait(browser, f"//p[contains(., 'Stage {stage.name}')]")  # the header names the stage
    _wait(browser, "//p[contains(., 'Showing 12 of 12 peeked')]")
    time.sleep(1)  # let the table paint its rows before the picture
    SCREENSHOT.parent.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000

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
