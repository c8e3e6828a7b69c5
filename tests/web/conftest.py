"""One ``matlas serve`` process (scripted LLM provider, bundled MP sample, small indexes) and one headless
Chromium per module."""

from __future__ import annotations

import pytest

from matlas.web import STATIC, VENDOR_FILES
from tests._support.browser import _missing, chromium
from tests._support.http_server import serving
from tests._support.platform import SI_REPLIES, build_platform
from tests._support.scripted_openai import scripted_openai
from tests._support.serve import serve_process

UNGROUNDED_ANSWER = "Silicon (mp-149) has a band gap of 9.87 eV."
# then a turn the model answers from memory, twice (its draft and the repair round)
REPLIES = [*SI_REPLIES, {"text": UNGROUNDED_ANSWER}, {"text": UNGROUNDED_ANSWER}]


@pytest.fixture(scope="module")
def platform_env(tmp_path_factory, encoder, built_index, mp_db) -> dict[str, str]:
    return build_platform(tmp_path_factory.mktemp("platform"), encoder=encoder, document_index=built_index,
                          mp_db=mp_db)


@pytest.fixture(scope="module")
def server(platform_env):
    """Base URL of a real ``matlas serve`` whose LLM is the scripted provider of ``REPLIES``."""
    missing = [name for name in VENDOR_FILES if not (STATIC / "vendor" / name).is_file()]
    if missing:
        _missing(f"{missing} are not in {STATIC / 'vendor'}: run `npm ci`")
    with serving(scripted_openai(REPLIES)) as llm_url:
        env = platform_env | {"MATLAS_LLM_BASE_URL": f"{llm_url}/v1", "MATLAS_LLM_MODEL": "scripted"}
        with serve_process(env) as served:
            yield served.base


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    driver = chromium(downloads)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
