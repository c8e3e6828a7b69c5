"""Signing in to the web app with an API key, in a real headless Chromium against a keyed ``matlas serve``.

Oracles: the key the test made (a wrong one is refused, the right one opens the app), the cookie the
browser stores (HttpOnly, SameSite=Strict, invisible to scripts), and the fixture corpus' known
relevant document for a search made after signing in.
"""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from matlas.security.keys import new_key
from tests._support.browser import console_errors, screenshot
from tests._support.serve import serve_process

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reader_token() -> tuple[str, str]:
    return new_key("browser", "read")


@pytest.fixture(scope="module")
def keyed_server(platform_env, reader_token):
    """The platform of ``platform_env`` served with one read key (no LLM needed: no chat turn is sent)."""
    _, entry = reader_token
    with serve_process(platform_env | {"MATLAS_API_KEYS": entry}) as served:
        yield served.base


def visible(driver, css: str, timeout: float = 60):
    return WebDriverWait(driver, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def sign_in(browser, key: str) -> None:
    box = visible(browser, "#key")
    box.clear()
    box.send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "form.ask button[type=submit]").click()


def test_pages_need_a_key_and_the_login_form_sets_a_private_cookie(keyed_server, browser, reader_token):
    token, _ = reader_token
    browser.delete_all_cookies()
    browser.get(keyed_server + "/search")
    WebDriverWait(browser, 60).until(lambda d: "/login" in d.current_url)  # no key yet: sent to sign in
    assert httpx.get(keyed_server + "/v1/indexes", timeout=30).status_code == 401

    sign_in(browser, token[:-4] + "AAAA")  # a wrong key: the form again, with the reason
    assert "not valid" in visible(browser, "[role=alert]").text
    assert not browser.get_cookies()
    [refused] = console_errors(browser)  # the browser logs the form's 401, and nothing else went wrong
    assert "/login" in refused and "401" in refused

    sign_in(browser, token)
    WebDriverWait(browser, 60).until(lambda d: d.current_url.endswith("/search"))  # back where it was going
    [cookie] = browser.get_cookies()
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert token not in browser.execute_script("return document.cookie")  # scripts cannot read the key

    visible(browser, "#query").send_keys("blue LED semiconductor")
    browser.find_element(By.ID, "search-button").click()
    visible(browser, "#hits-summary")
    first = browser.find_element(By.CSS_SELECTOR, "#hits .hit")
    assert "Gallium nitride" in first.text  # the signed-in page searches the index
    screenshot(browser, "login-search")
    assert console_errors(browser) == []
