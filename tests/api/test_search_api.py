import pytest
from fastapi.testclient import TestClient

from matlas.api import create_app
from matlas.settings import Settings
from retrieval.service import SearchService


@pytest.fixture(scope="module")
def client(built_index, encoder):
    settings = Settings(index_root=built_index.parent, default_index="mini")
    service = SearchService(settings.indexes_dir)
    service.encoders.add(encoder)  # reuse the session's encoder
    with TestClient(create_app(settings, search_service=service)) as c:
        yield c


def test_healthz(client):
    assert client.get("/healthz").json()["status"] == "ok"


def test_search_round_trip(client):
    r = client.post("/v1/search", json={"query": "cathode for lithium ion batteries", "k": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["index"] == "mini" and body["version"] == "v000001" and body["mode"] == "muvera"
    assert {h["id"] for h in body["hits"]} == {"lfp", "lco"}
    assert body["hits"][0]["rank"] == 1 and body["hits"][0]["score"] >= body["hits"][1]["score"]


@pytest.mark.parametrize("mode", ["dense", "exact", "hybrid"])
def test_modes_over_http(client, mode):
    r = client.post("/v1/search", json={"query": "ferromagnetic iron", "k": 3, "mode": mode, "index": "mini"})
    assert r.status_code == 200 and r.json()["hits"][0]["id"] == "fe"


@pytest.mark.parametrize(
    "body,status,needle",
    [
        ({"query": ""}, 422, "query"),
        ({"query": "   "}, 422, "blank"),
        ({"query": "x", "k": 0}, 422, "k"),
        ({"query": "x", "k": 100000}, 422, "k"),
        ({"query": "x", "mode": "nope"}, 422, "mode"),
        ({"query": "x", "index": "missing"}, 404, "unknown index"),
        ({"query": "x", "index": "../etc"}, 422, "invalid index name"),
        ({"k": 3}, 422, "query"),
    ],
)
def test_bad_requests_get_4xx_with_reason(client, body, status, needle):
    r = client.post("/v1/search", json=body)
    assert r.status_code == status, r.text
    assert needle in str(r.json()["detail"])


def test_indexes_listing(client):
    listing = client.get("/v1/indexes").json()
    assert [i["name"] for i in listing] == ["mini"]
    assert listing[0]["manifest"]["fde"]["num_repetitions"] == 20
    assert client.get("/v1/indexes/mini").json()["versions"] == ["v000001"]
    assert client.get("/v1/indexes/other").status_code == 404


def test_openapi_is_generated(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/search", "/v1/indexes", "/healthz"} <= set(paths)


def test_new_version_is_served_without_restart(index_copy, encoder, docs):
    from index.build import build_index

    settings = Settings(index_root=index_copy.parent, default_index="mini")
    service = SearchService(settings.indexes_dir)
    service.encoders.add(encoder)
    with TestClient(create_app(settings, search_service=service)) as c:
        assert c.post("/v1/search", json={"query": "magnet", "k": 50}).json()["version"] == "v000001"
        build_index(docs[:3], index_copy, encoder, progress=False)
        body = c.post("/v1/search", json={"query": "magnet", "k": 50}).json()
        assert body["version"] == "v000002" and len(body["hits"]) == 3


def test_warm_up_loads_every_index_before_the_first_request(built_index, encoder):
    service = SearchService(built_index.parent)
    service.encoders.add(encoder)
    assert service._searchers == {}
    assert service.warm_up() == ["mini"]
    version, warmed = service._searchers[("faiss", str(built_index.resolve()))]
    assert version == "v000001" and service.searcher("mini") is warmed  # the request reuses it
    assert [h.id for h in warmed.search("blue LED semiconductor", k=1)] == ["gan"]


def test_warm_up_of_an_empty_root_is_a_no_op(tmp_path):
    assert SearchService(tmp_path / "none").warm_up() == []
