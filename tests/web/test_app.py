"""The web app in a real headless Chromium against a real ``matlas serve`` (scripted LLM, bundled MP sample).

Oracles: the bundled sample file (band gaps, structures), the fixture corpus' known relevant document,
and the identity of a structure with itself for the hashing index.
"""

from __future__ import annotations

import html
import io
import json
import time

import httpx
import pytest
from pymatgen.core import Structure
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests._support.browser import console_errors, screenshot
from tests._support.platform import SI_ANSWER

pytestmark = pytest.mark.slow


def wait(driver, timeout: float = 60):
    return WebDriverWait(driver, timeout)


def visible(driver, css: str, timeout: float = 60):
    return wait(driver, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def test_chat_streams_tool_steps_answer_and_citation(server, browser, sample):
    browser.get(server + "/")
    box = visible(browser, "#message")
    box.send_keys("What is the band gap of Si?")
    browser.find_element(By.ID, "send").click()
    link = visible(browser, ".turn.assistant .final a.cite")
    assert link.get_attribute("href") == f"{server}/materials/mp-149"
    steps = [li.text for li in browser.find_elements(By.CSS_SELECTOR, ".turn.assistant .steps li")]
    assert any("linker" in s and "get_band_structure_summary" in s for s in steps)  # facts before words
    result = next(s for s in steps if s.startswith("result"))
    assert f'"band_gap":{sample["mp-149"]["band_gap"]}' in result.replace(" ", "")  # real MP data came back
    answer = browser.find_element(By.CSS_SELECTOR, ".turn.assistant .answer-body").text
    assert answer == SI_ANSWER and str(sample["mp-149"]["band_gap"]) in answer
    assert not browser.find_elements(By.CSS_SELECTOR, ".turn.assistant .mark.ungrounded")
    # the new session is listed and the URL names it; reloading shows the stored turn
    wait(browser).until(lambda d: "/chat/" in d.current_url)
    session_id = browser.current_url.rsplit("/", 1)[1]
    assert browser.find_element(By.CSS_SELECTOR, f'#sessions a[href="/chat/{session_id}"]').text == \
        "What is the band gap of Si?"
    screenshot(browser, "chat")
    browser.refresh()
    assert visible(browser, ".turn.assistant .answer-body").text == SI_ANSWER
    assert console_errors(browser) == []


def test_citation_opens_material_page_with_a_rendered_viewer(server, browser, sample):
    browser.get(server + "/chat/" + httpx.get(f"{server}/v1/sessions").json()[0]["id"])
    visible(browser, ".answer-body + * a.cite, .citations a.cite").click()
    wait(browser).until(EC.url_to_be(f"{server}/materials/mp-149"))
    viewer = visible(browser, "#viewer")
    wait(browser).until(lambda d: viewer.get_attribute("data-rendered") in ("true", "error"))
    assert viewer.get_attribute("data-rendered") == "true"
    time.sleep(0.5)
    canvas = viewer.find_element(By.TAG_NAME, "canvas")
    pixels = _pixels(canvas.screenshot_as_png)
    drawn = sum(1 for p in pixels if p != (255, 255, 255))
    assert drawn > 0.01 * len(pixels), f"only {drawn} of {len(pixels)} pixels differ from the background"
    assert len(set(pixels)) > 20  # shaded spheres and cell lines, not a flat fill
    # keyboard: the viewer takes focus and rotates with the arrow keys
    viewer.send_keys(Keys.ARROW_RIGHT)
    time.sleep(0.3)
    assert _pixels(canvas.screenshot_as_png) != pixels
    row = browser.find_element(By.CSS_SELECTOR, 'tr[data-field="band_gap"]')
    assert row.text.split() == ["Band", "gap", f"{sample['mp-149']['band_gap']:.4g}", "eV"]
    assert "local MP snapshot" in browser.find_element(By.CSS_SELECTOR, ".provenance").text
    assert browser.find_elements(By.CSS_SELECTOR, ".similar li a")
    screenshot(browser, "material")
    assert console_errors(browser) == []


def test_cif_download_parses_back_to_the_same_structure(server, browser, downloads, sample):
    browser.get(server + "/materials/mp-19017")
    visible(browser, "#download-cif").click()
    path = downloads / "mp-19017.cif"
    wait(browser, 30).until(lambda d: path.is_file() and path.stat().st_size > 0)
    parsed = Structure.from_file(path)
    expected = Structure.from_dict(sample["mp-19017"]["structure"])
    assert len(parsed) == len(expected) and parsed.composition == expected.composition
    assert parsed.lattice.abc == pytest.approx(expected.lattice.abc, abs=1e-5)
    assert parsed.lattice.angles == pytest.approx(expected.lattice.angles, abs=1e-4)
    for a, b in zip(parsed, expected):
        assert a.species == b.species and a.distance(b) < 1e-4
    recipes = browser.find_elements(By.CSS_SELECTOR, ".recipe")
    assert recipes and "LiFePO4" in recipes[0].text
    assert console_errors(browser) == []


@pytest.mark.parametrize("mode", ["muvera", "dense", "exact", "hybrid"])
def test_search_page(server, browser, mode):
    browser.get(server + "/search")
    visible(browser, "#query").send_keys("blue LED semiconductor")
    Select(browser.find_element(By.ID, "mode")).select_by_value(mode)
    assert Select(browser.find_element(By.ID, "index")).first_selected_option.text == "mini"
    browser.find_element(By.ID, "search-button").click()
    summary = visible(browser, "#hits-summary")
    assert f"({mode}," in summary.text
    first = browser.find_element(By.CSS_SELECTOR, "#hits .hit")
    assert "Gallium nitride" in first.text and "gan" in first.find_element(By.CSS_SELECTOR, ".meta").text
    assert "score" in first.text and first.find_element(By.CSS_SELECTOR, ".snippet").text
    if mode == "muvera":
        screenshot(browser, "search")
    assert console_errors(browser) == []


def test_crossmodal_text_and_uploaded_structure(server, browser, sample, tmp_path):
    browser.get(server + "/search?tab=crossmodal")
    visible(browser, "#xtext").send_keys("cubic semiconductor with a band gap")
    browser.find_element(By.ID, "xtext-button").click()
    hits = wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#xhits .hit a"))
    assert all(a.get_attribute("href").startswith(f"{server}/materials/mp-") for a in hits)
    nacl = next(mid for mid, r in sample.items() if r["formula_pretty"] == "NaCl")
    cif = tmp_path / "upload.cif"
    cif.write_text(Structure.from_dict(sample[nacl]["structure"]).to(fmt="cif"))
    browser.find_element(By.ID, "xfile").send_keys(str(cif))
    browser.find_element(By.ID, "xfile-button").click()
    wait(browser).until(lambda d: "Similar structures" in d.find_element(By.ID, "xhits").text)
    lists = browser.find_elements(By.CSS_SELECTOR, "#xhits ol")
    assert "Texts for NaCl" in browser.find_element(By.ID, "xhits").text
    similar = [(li.find_element(By.TAG_NAME, "a").get_attribute("href"), li.text)
               for li in lists[1].find_elements(By.CSS_SELECTOR, "li")]
    assert (f"{server}/materials/{nacl}", 0) in [(h, int(t.split("Hamming ")[1].split()[0])) for h, t in similar]
    screenshot(browser, "crossmodal")
    assert console_errors(browser) == []


def test_ungrounded_answer_is_marked_and_sessions_can_be_deleted(server, browser):
    browser.get(server + "/")
    visible(browser, "#message").send_keys("And from memory?")
    browser.find_element(By.ID, "send").click()
    mark = visible(browser, ".turn.assistant .final .mark.ungrounded")
    assert "9.87" in mark.text
    wait(browser).until(lambda d: "/chat/" in d.current_url)
    session_id = browser.current_url.rsplit("/", 1)[1]
    screenshot(browser, "chat-ungrounded")
    browser.find_element(By.CSS_SELECTOR, f'#sessions a[href="/chat/{session_id}"] ~ button.delete').click()
    wait(browser).until(EC.url_to_be(f"{server}/"))
    assert not browser.find_elements(By.CSS_SELECTOR, f'#sessions a[href="/chat/{session_id}"]')
    assert httpx.get(f"{server}/v1/sessions/{session_id}").status_code == 404
    assert console_errors(browser) == []


def test_unknown_pages_answer_404_with_a_reason(server):
    r = httpx.get(f"{server}/materials/mp-999999999", timeout=30)
    assert r.status_code == 404 and "no material 'mp-999999999'" in html.unescape(r.text)
    r = httpx.get(f"{server}/chat/{'0' * 32}", timeout=30)
    assert r.status_code == 404 and "unknown session" in r.text
    r = httpx.get(f"{server}/materials/not-an-id", timeout=30)
    assert r.status_code == 422 and "is not a Materials Project id" in html.unescape(r.text)
    assert httpx.get(f"{server}/chat/turns/{'0' * 32}/events", timeout=30).status_code == 404


def _pixels(png: bytes) -> list[tuple[int, int, int]]:
    from PIL import Image

    return list(Image.open(io.BytesIO(png)).convert("RGB").getdata())


def test_static_libraries_come_from_npm(server):
    """The served htmx and 3Dmol files are the ones npm installed (package-lock.json), not hand copies."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    lock = json.loads((root / "package-lock.json").read_text())["packages"]
    for package, dist, served in [("htmx.org", "dist/htmx.min.js", "htmx.min.js"),
                                  ("3dmol", "build/3Dmol-min.js", "3Dmol-min.js")]:
        assert (root / "node_modules" / package / dist).read_bytes() == httpx.get(
            f"{server}/static/vendor/{served}").content
        assert lock[f"node_modules/{package}"]["version"] == json.loads(
            (root / "node_modules" / package / "package.json").read_text())["version"]
