"""Fixtures of the work-engine tests: a real ``matlas worker`` on the session's redis-server."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.workers.helpers import NEW_DOC, WorkerProcess, write_corpus


@pytest.fixture(scope="module")
def broker_url(redis_server) -> str:
    """A Redis database of its own on the session server (other tests flush database 0)."""
    import redis

    url = redis_server.url.rsplit("/", 1)[0] + "/5"
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture(scope="module")
def worker_home(tmp_path_factory) -> Path:
    """MATLAS_HOME of the module's worker; its indexes live in ``indexes/``."""
    home = tmp_path_factory.mktemp("worker-home")
    (home / "indexes").mkdir()
    return home


@pytest.fixture(scope="module")
def index_worker(broker_url, worker_home):
    """One ``matlas worker -Q index`` per module (lock TTL 2 s), stopped at the end."""
    env = os.environ | {
        "MATLAS_HOME": str(worker_home), "MATLAS_BROKER_URL": broker_url, "MATLAS_REDIS_URL": broker_url,
        "MATLAS_REBUILD_LOCK_TTL_S": "2", "MATLAS_TASK_TIME_LIMIT_S": "300", "MATLAS_DEVICE": "cpu",
        "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1",
    }
    worker = WorkerProcess(env, ["index"], worker_home / "worker.log")
    yield worker
    worker.stop()


@pytest.fixture
def grown_corpus(corpus_path, tmp_path) -> Path:
    """The fixture corpus plus one perovskite document (NEW_DOC) it did not have."""
    records = [json.loads(line) for line in corpus_path.read_text().splitlines() if line.strip()]
    return write_corpus(tmp_path / "grown.jsonl", [*records, NEW_DOC])
