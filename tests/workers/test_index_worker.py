"""Rebuilds on a real Celery worker over a real Redis: publishing, overlap, a killed worker, a Redis outage."""

import shutil
import subprocess
import sys
import time

import pytest
import redis
from fastapi.testclient import TestClient

from index.versions import IndexRoot
from matlas.api import create_app
from matlas.settings import Settings
from matlas.wiring import rebuild_config, submit_rebuild, task_info
from retrieval.service import SearchService
from tests.workers.helpers import holding_publish, wait_for_task
from workers.rebuild import rebuild_index

pytestmark = pytest.mark.slow

PEROVSKITE = "perovskite absorber for solar cells"


@pytest.fixture(scope="module")
def settings(worker_home, broker_url) -> Settings:
    """What the API and CLI of these tests use: the worker's index root, broker and lock TTL."""
    return Settings(home=worker_home, broker_url=broker_url, redis_url=broker_url, rebuild_lock_ttl_s=2)


@pytest.fixture
def new_index(settings, built_index):
    def make(name: str) -> IndexRoot:
        shutil.copytree(built_index, settings.indexes_dir / name)
        return IndexRoot(settings.indexes_dir / name)
    return make


@pytest.fixture
def service(settings, encoder) -> SearchService:
    """A long-lived search service (as in a running API), sharing the session's encoder."""
    service = SearchService(settings.indexes_dir)
    service.encoders.add(encoder)
    return service


def test_a_worker_rebuild_is_served_without_restart(index_worker, settings, new_index, service, grown_corpus):
    index_worker.ensure_started()
    new_index("live")
    assert service.searcher("live").search(PEROVSKITE, 1)[0].id != "mapbi3"

    submitted = submit_rebuild(settings, "live", grown_corpus)
    assert submitted.state == "PENDING"
    done = wait_for_task(settings, submitted.id)

    assert done.state == "SUCCESS", done.error
    result = done.result
    assert (result["status"], result["previous"], result["version"]) == ("published", "v000001", "v000002")
    searcher = service.searcher("live")
    assert searcher.index.manifest.version == "v000002"
    assert searcher.search(PEROVSKITE, 1)[0].id == "mapbi3"


def test_a_second_rebuild_while_one_runs_is_skipped(index_worker, settings, new_index, grown_corpus, encoder):
    index_worker.ensure_started()
    root = new_index("busy")
    with holding_publish(root):
        submitted = submit_rebuild(settings, "busy", grown_corpus)
        wait_for_task(settings, submitted.id, lambda info: info.stage == "publishing")
        # another machine (this process) tries the same index meanwhile
        elsewhere = rebuild_index(rebuild_config(settings), "busy", corpus=grown_corpus, load_encoder=lambda _: encoder)
        assert (elsewhere.status, elsewhere.version) == ("skipped", "v000001")
    done = wait_for_task(settings, submitted.id)
    assert (done.result["status"], done.result["version"]) == ("published", "v000002")
    assert root.versions() == ["v000001", "v000002"]


def test_a_worker_killed_mid_rebuild_changes_nothing_served(
    index_worker, settings, broker_url, new_index, service, grown_corpus, encoder
):
    index_worker.ensure_started()
    root = new_index("crash")
    before = [(h.id, h.score) for h in service.searcher("crash").search(PEROVSKITE, 5)]
    lock_key = "matlas:lock:rebuild:crash"
    client = redis.Redis.from_url(broker_url)
    with holding_publish(root):
        submitted = submit_rebuild(settings, "crash", grown_corpus)
        wait_for_task(settings, submitted.id, lambda info: info.stage == "publishing")
        index_worker.kill()
        assert client.exists(lock_key)  # the dead worker's lock outlives it ...

    assert root.current() == "v000001" and root.versions() == ["v000001"]  # no half version visible
    assert [(h.id, h.score) for h in service.searcher("crash").search(PEROVSKITE, 5)] == before
    assert not (root.path / "CORPUS").exists()
    start = time.monotonic()
    while client.exists(lock_key):  # ... until its TTL (2 s) runs out
        assert time.monotonic() - start < 4, "the lock of the killed worker did not expire"
        time.sleep(0.05)

    report = rebuild_index(rebuild_config(settings), "crash", corpus=grown_corpus, load_encoder=lambda _: encoder)
    assert (report.status, report.version) == ("published", "v000002")
    assert service.searcher("crash").search(PEROVSKITE, 1)[0].id == "mapbi3"
    assert not (root.path / ".staging").exists()  # the dead build's leftovers are gone


def test_a_redis_outage_keeps_search_up_refuses_tasks_and_loses_no_queued_work(
    index_worker, redis_server, broker_url, settings, new_index, service, grown_corpus, encoder
):
    index_worker.stop()  # work queued while no worker runs must wait in Redis
    new_index("outage")
    rebuild_index(rebuild_config(settings), "outage", corpus=grown_corpus, load_encoder=lambda _: encoder)  # records its corpus
    queued = submit_rebuild(settings, "outage")
    client = redis.Redis.from_url(broker_url)
    assert client.llen("index") == 1

    with TestClient(create_app(settings, search_service=service)) as http:
        redis_server.stop()
        try:
            found = http.post("/v1/search", json={"query": PEROVSKITE, "k": 1, "index": "outage"})
            assert found.status_code == 200 and found.json()["hits"][0]["id"] == "mapbi3"
            start = time.monotonic()
            refused = http.post("/v1/indexes/outage/rebuild")
            assert refused.status_code == 503 and time.monotonic() - start < 10
            assert refused.json()["detail"].startswith(f"task queue unavailable at {broker_url}")
            assert http.get(f"/v1/tasks/{queued.id}").status_code == 503
            cli = subprocess.run([sys.executable, "-m", "matlas", "task", "rebuild", "outage"], check=False,
                                 env=index_worker.env, capture_output=True, text=True, timeout=120)
            assert cli.returncode == 2 and "Traceback" not in cli.stderr
            assert " ".join(cli.stderr.split()).startswith(f"error: task queue unavailable at {broker_url}")
        finally:
            redis_server.start()

        assert client.llen("index") == 1  # the queued rebuild survived the restart (AOF)
        index_worker.start()
        done = wait_for_task(settings, queued.id)
        assert (done.state, done.result["version"]) == ("SUCCESS", "v000003")
        accepted = http.post("/v1/indexes/outage/rebuild")
        assert accepted.status_code == 202
        deadline = time.monotonic() + 120
        while (info := http.get(f"/v1/tasks/{accepted.json()['id']}").json())["state"] not in ("SUCCESS", "FAILURE"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert info["result"]["version"] == "v000004"
        assert task_info(settings, queued.id).state == "SUCCESS"
