"""Shared fixtures: the bundled encoder loaded once per session, a small BEIR corpus, a built index."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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
    """A real redis-server for the session (skips where it is not installed; CI installs it)."""
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
