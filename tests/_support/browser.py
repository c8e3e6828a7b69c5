"""A headless Chromium driven by Selenium through the system's chromedriver (Debian ``chromium-driver``).

Where Chromium is missing the tests skip with the reason, except under ``CI=true``, where they fail:
``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / ".screenshots"


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI installs it: see .ci/run)")
    pytest.skip(reason)


def chromium(download_dir: Path):
    """A headless Chromium (1280x900, software WebGL) that saves downloads in ``download_dir``."""
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not Path(driver_path).exists():
        _missing("chromedriver is not installed (apt-get install -y chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-gpu-sandbox"):
        options.add_argument(arg)
    if binary := shutil.which("chromium"):
        options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                              "download.prompt_for_download": False})
    return webdriver.Chrome(service=Service(driver_path), options=options)


def console_errors(driver) -> list[str]:
    """Console messages at level SEVERE since the last call."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def screenshot(driver, name: str) -> Path:
    """Save the page as ``.screenshots/<name>.png`` (git-ignored) for people to review."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
