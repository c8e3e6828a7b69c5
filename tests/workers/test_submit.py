"""``workers.submit`` and its HTTP routes: in-process without a broker; bad input refused before queueing."""

import pytest
from fastapi.testclient import TestClient

from matlas.api import create_app
from matlas.errors import IndexNotFound, InvalidInput
from matlas.settings import Settings
from matlas.wiring import submit_rebuild, task_info
from retrieval.service import SearchService
from tests._support.redis_server import free_port


@pytest.fixture
def embedded(index_copy, tmp_path) -> Settings:
    return Settings(home=tmp_path, index_root=index_copy.parent)


def test_without_a_broker_a_rebuild_runs_here_and_returns_its_report(embedded, encoder, grown_corpus, index_copy):
    info = submit_rebuild(embedded, "mini", grown_corpus, load_encoder=lambda _: encoder)
    assert info.state == "SUCCESS" and info.id.startswith("local-")
    assert (info.result["status"], info.result["version"], info.result["documents"]) == ("published", "v000002", 17)
    with pytest.raises(InvalidInput, match="no task broker"):
        task_info(embedded, info.id)


@pytest.mark.parametrize("name,corpus,error,needle", [
    ("nope", None, IndexNotFound, "unknown index 'nope'"),
    ("mini", None, InvalidInput, "no recorded corpus"),
    ("mini", "missing.jsonl", InvalidInput, "corpus file not found"),
    ("../etc", None, InvalidInput, "invalid index name"),
])
def test_bad_rebuilds_are_refused_before_anything_is_queued(embedded, tmp_path, name, corpus, error, needle):
    dead_broker = embedded.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
    with pytest.raises(error, match=needle):
        submit_rebuild(dead_broker, name, tmp_path / corpus if corpus else None)


def test_http_rebuild_without_a_broker(embedded, encoder, grown_corpus):
    service = SearchService(embedded.indexes_dir)
    service.encoders.add(encoder)
    with TestClient(create_app(embedded, search_service=service)) as http:
        refused = http.post("/v1/indexes/mini/rebuild")
        assert refused.status_code == 422 and "no recorded corpus" in refused.json()["detail"]
        assert http.post("/v1/indexes/nope/rebuild").status_code == 404
        submit_rebuild(embedded, "mini", grown_corpus, load_encoder=service.encoders.get)  # records the corpus
        done = http.post("/v1/indexes/mini/rebuild")
        assert done.status_code == 200 and done.json()["result"]["version"] == "v000003"
        assert http.post("/v1/search", json={"query": "perovskite solar absorber", "k": 1, "index": "mini"}
                         ).json()["hits"][0]["id"] == "mapbi3"
        assert http.get("/v1/tasks/abc").status_code == 404  # no broker: no task store (issue 19, item 7)
        assert http.get("/v1/tasks/a%20b").json()["detail"][0]["type"] == "string_pattern_mismatch"
