"""The pushed dataset in Argilla's own web UI (served by argilla-server), in headless Chromium.

Debian's chromium and chromedriver drive the page through selenium; a screenshot of the
annotation view is kept under the test's tmp folder and its path printed.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from argilla_stack import ANNOTATORS
from review_helpers import dataset, factory

from factory.hub import open_store

pytestmark = [pytest.mark.server, pytest.mark.slow]

TEXT = "Donostia Euskal Herriko hiri bat da, Kantauri itsasoaren ertzean."


def chromium():
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        pytest.skip("Debian's chromium and chromedriver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def wait_for(browser, predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate(browser):
            return True
        time.sleep(0.5)
    return False


def test_record_shows_in_argilla_ui(argilla_env, tmp_path, capsys):
    rev = open_store("local").publish(
        "test/ui-docs",
        {"data/train-00000-of-00001.jsonl": f'{{"id": "ui-1", "text": "{TEXT}"}}\n'.encode()},
        message="docs",
    )
    code, _, err = factory(capsys, "review", "push", f"test/ui-docs@{rev.sha}", "--sample", "1")
    assert code == 0, err
    ds = dataset(argilla_env, "test--ui-docs--corpus")

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser = chromium()
    # CI may collect artifacts from FACTORY_TEST_ARTIFACTS; else the test's tmp folder
    folder = Path(os.environ.get("FACTORY_TEST_ARTIFACTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "argilla-record.png"
    try:
        browser.get(f"{argilla_env.api_url}/sign-in")
        assert wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "input[type=password]"))
        username, password, _ = ANNOTATORS[0]
        inputs = browser.find_elements(By.CSS_SELECTOR, "input")
        inputs[0].send_keys(username)
        browser.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(
            password + Keys.ENTER
        )
        assert wait_for(browser, lambda b: "sign-in" not in b.current_url)
        browser.get(f"{argilla_env.api_url}/dataset/{ds.id}/annotation-mode")
        shown = wait_for(browser, lambda b: TEXT in b.find_element(By.TAG_NAME, "body").text)
        browser.save_screenshot(str(shot))
        print(f"screenshot: {shot}")
        body = browser.find_element(By.TAG_NAME, "body").text
        assert shown, body[:2000]
        assert "Keep this row in the dataset?" in body and "Why discard?" in body
    finally:
        browser.quit()
    assert shot.stat().st_size > 10_000
