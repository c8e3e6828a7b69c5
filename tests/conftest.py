"""Shared fixtures: the bundled encoder, a small BEIR corpus and index, Redis, a tiny LM, the MP sample server."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._support.skip_policy import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401 (hooks)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def encoder():
    """The offline default encoder (all-MiniLM-L6-v2), loaded once."""
    from retrieval.encoder import MultiVectorEncoder

    return MultiVectorEncoder()


@pytest.fixture(scope="session")
def corpus_path() -> Path:
    return FIXTURES / "corpus.jsonl"


@pytest.fixture(scope="session")
def docs(corpus_path):
    from retrieval.corpus import load_corpus

    return load_corpus(corpus_path)


@pytest.fixture(scope="session")
def materials_docs():
    """The default materials corpus (~430 documents generated from pymatgen's bundled data)."""
    from tests._support.corpora import materials_documents

    return list(materials_documents())


@pytest.fixture(scope="session")
def built_index(tmp_path_factory, docs, encoder) -> Path:
    """A published index over the fixture corpus; copy it before changing it."""
    from index.build import build_index

    root = tmp_path_factory.mktemp("indexes") / "mini"
    build_index(docs, root, encoder, progress=False)
    return root


@pytest.fixture
def index_copy(built_index, tmp_path) -> Path:
    """A private copy of the built index that a test may change."""
    target = tmp_path / "indexes" / "mini"
    shutil.copytree(built_index, target)
    return target


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project; tests that need it skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present (users clone only the project)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server for the session (``make install`` brings one; missing, the tests skip, and fail
    under CI=true: see ``tests/_support/skip_policy.py``)."""
    from tests._support.redis_server import RedisServer

    try:
        server = RedisServer(tmp_path_factory.mktemp("redis"))
    except FileNotFoundError as err:
        pytest.skip(str(err))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    """The session Redis, flushed for this test."""
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()
    return redis_server.url


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory) -> Path:
    """A tiny random Qwen2 causal LM with a ChatML tokenizer, saved like a hub model."""
    from tests._support.tiny_lm import make_tiny_causal_lm

    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny-qwen2"))


# Materials Project: the illustrative sample fixture as a snapshot, served over the MP REST protocol once
# per session. (The default snapshot a user gets is real MP data: agents/mp/data/materials.jsonl.gz.)
MP_SAMPLE = FIXTURES / "mp"


@pytest.fixture(scope="session")
def mp_db(tmp_path_factory) -> Path:
    """A snapshot of the sample fixture (25 materials, 15 recipes, marked ``sample``); read it only."""
    from tests._support.mp import sample_snapshot

    return sample_snapshot(tmp_path_factory.mktemp("mp") / "mp.sqlite").path


@pytest.fixture(scope="session")
def mp_endpoint(mp_db) -> Iterator[str]:
    """URL (``http://127.0.0.1:PORT/``) of an MP-protocol server over ``mp_db``."""
    from agents.mp.server import serve_snapshot

    with serve_snapshot(mp_db) as url:
        yield url


@pytest.fixture(scope="session")
def mp_settings(tmp_path_factory, mp_db, mp_endpoint):
    """Settings whose MP queries go to ``mp_endpoint`` (no key, no network); copy to change."""
    from matlas.settings import Settings

    return Settings(
        home=tmp_path_factory.mktemp("home"), mp_db=mp_db, mp_endpoint=mp_endpoint, mp_api_key=None
    )


@pytest.fixture(scope="session")
def sample() -> dict[str, dict]:
    """Sample fixture materials by id, as written in ``tests/fixtures/mp/materials.jsonl``."""
    lines = (MP_SAMPLE / "materials.jsonl").read_text().splitlines()
    return {r["material_id"]: r for r in map(json.loads, lines)}


@pytest.fixture(scope="session")
def sample_recipes() -> list[dict]:
    """Sample fixture recipes, as written in ``tests/fixtures/mp/synthesis.jsonl``."""
    return [json.loads(line) for line in (MP_SAMPLE / "synthesis.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def mpr(mp_endpoint):
    """The real mp-api client on ``mp_endpoint``."""
    from mp_api.client import MPRester

    from agents.mp.client import OFFLINE_API_KEY

    with MPRester(api_key=OFFLINE_API_KEY, endpoint=mp_endpoint, mute_progress_bars=True) as rester:
        yield rester
