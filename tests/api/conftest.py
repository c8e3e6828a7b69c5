"""A keyed ``matlas serve`` shared by the auth and private-session tests: keys ``ops`` (admin), ``ana``
and ``bob`` (read), bound to 0.0.0.0, over the mini index, the MP sample and a scripted LLM."""

from __future__ import annotations

import shutil

import pytest

from tests._support.http_server import serving
from tests._support.keys import api_key
from tests._support.scripted_openai import scripted_openai
from tests._support.serve import serve_process

EXACT_MAX_DOCUMENTS = 3  # the mini index is larger: exact search on it is admin-only


@pytest.fixture(scope="session")
def encoder_cache(tmp_path_factory) -> str:
    """One ONNX export of the encoder for every server of these tests (each would export it again)."""
    return str(tmp_path_factory.mktemp("encoder-cache"))


@pytest.fixture(scope="session")
def tokens() -> dict[str, str]:
    """Key name -> bearer token of the keyed server."""
    return {}


@pytest.fixture(scope="session")
def keyed_server(tmp_path_factory, built_index, mp_db, tokens, encoder_cache):
    home = tmp_path_factory.mktemp("keyed-home")
    shutil.copytree(built_index, home / "indexes" / "mini")
    entries = []
    for name, scope in (("ops", "admin"), ("ana", "read"), ("bob", "read")):
        tokens[name], entry = api_key(name, scope)
        entries.append(entry)
    with serving(scripted_openai([{"text": "No data for that."}] * 10_000)) as llm_url:
        env = {"MATLAS_HOME": str(home), "MATLAS_INDEX_ROOT": str(home / "indexes"), "MATLAS_DEFAULT_INDEX": "mini",
               "MATLAS_MP_DB": str(mp_db), "MATLAS_LLM_BASE_URL": f"{llm_url}/v1", "MATLAS_LLM_MODEL": "scripted",
               "MATLAS_API_KEYS": ",".join(entries), "MATLAS_EXACT_MAX_DOCUMENTS": str(EXACT_MAX_DOCUMENTS),
               "MATLAS_ENCODER_CACHE": encoder_cache}
        with serve_process(env, "--host", "0.0.0.0", timeout_s=600) as served:
            served.home, served.exact_max_documents = home, EXACT_MAX_DOCUMENTS
            yield served
