"""Headless Chromium for tests of browser pages, with a WAV file as the microphone.

Needs the Debian packages `chromium` and `chromium-driver` (the system driver is used, so
Selenium never downloads one) and the pip package `selenium`. A page under test reports
what it is doing in `<body>` data attributes: `data-state` (e.g. "idle", "ready") and
`data-actions`, a counter it increments when an action a button started has finished, and
shows its latest message in the element `#status`; `start_microphone` clicks `#start` and
waits for the state "ready".
"""

from __future__ import annotations

import os

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def chromium_options(fake_microphone: str, profile: str):
    from selenium import webdriver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--use-fake-ui-for-media-stream",
                     "--use-fake-device-for-media-stream",
                     f"--use-file-for-fake-audio-capture={fake_microphone}",
                     f"--user-data-dir={profile}"):
        options.add_argument(argument)
    return options


class Browser:
    """Headless Chromium (system chromedriver, no download) on a page, once it is idle."""

    def __init__(self, url: str, fake_microphone: str, profile: str):
        for program, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
            if not os.path.exists(program):
                pytest.fail(f"{program} is missing: apt-get install -y {package}")
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.support.ui import WebDriverWait
        # With the driver's path given, Selenium Manager (which would download one) is skipped.
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER),
                                       options=chromium_options(fake_microphone, profile))
        self.wait = WebDriverWait(self.driver, 30, poll_frequency=0.05)
        self.driver.get(url)
        self.wait_for_state("idle")

    def element(self, element_id: str):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.ID, element_id)

    def text(self, element_id: str) -> str:
        return self.element(element_id).text

    def state(self) -> str:
        return self.driver.execute_script("return document.body.dataset.state")

    def wait_for_state(self, state: str) -> None:
        self.wait.until(lambda _: self.state() == state)

    def click(self, element_id: str) -> str:
        """Clicks a button that runs an action; returns the status line once it is done."""
        done = self.actions_done()
        self.element(element_id).click()
        self.wait.until(lambda _: self.actions_done() > done)
        return self.text("status")

    def actions_done(self) -> int:
        return int(self.driver.execute_script("return document.body.dataset.actions || '0'"))

    def start_microphone(self) -> str:
        self.element("start").click()
        self.wait_for_state("ready")
        return self.text("status")

    def quit(self) -> None:
        self.driver.quit()
