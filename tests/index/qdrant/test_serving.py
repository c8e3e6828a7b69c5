"""The platform's doors on a Qdrant backend: ``matlas index build|append|info|list|rollback``, ``matlas
search`` and ``matlas eval`` unchanged, a real ``matlas serve`` answering ``/v1/search`` from Qdrant,
and a Qdrant that is down answering 503 with a reason while FAISS indexes keep serving."""

import json

import httpx
import pytest
from typer.testing import CliRunner

from matlas import wiring
from matlas.cli import app
from matlas.settings import Settings
from tests._support.redis_server import free_port
from tests._support.serve import serve_process


def _qdrant_env(tmp_path) -> dict[str, str]:
    return {"MATLAS_HOME": str(tmp_path / "home"), "MATLAS_VECTOR_BACKEND": "qdrant",
            "MATLAS_QDRANT_PATH": str(tmp_path / "qdrant"), "MATLAS_ENCODER_BACKEND": "torch", "HF_HUB_OFFLINE": "1"}


def _cli(env, *args):
    result = CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in args else result.output


@pytest.mark.slow
def test_cli_and_http_round_trip_on_qdrant(tmp_path, corpus_path):
    env = _qdrant_env(tmp_path)
    fixtures = corpus_path.parent
    built = _cli(env, "index", "build", "--corpus", corpus_path, "--out", "mini", "--json")
    assert built["backend"] == "qdrant" and built["documents"] == 16 and built["collection"] == "matlas__mini__v000001"
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({"_id": "nb3sn", "title": "Niobium tin", "text": "An A15 superconductor for magnets."}) + "\n")
    grown = _cli(env, "index", "append", "--index", "mini", "--corpus", extra, "--json")
    assert (grown["version"], grown["parent"], grown["documents"]) == ("v000002", "v000001", 17)
    info = _cli(env, "index", "info", "--index", "mini", "--json")
    assert (info["backend"], info["path"], info["versions"]) == ("qdrant", "qdrant:matlas__mini", ["v000001", "v000002"])
    listed = _cli(env, "index", "list", "--json")
    assert [(e["name"], e["backend"], e["manifest"]["version"]) for e in listed] == [("mini", "qdrant", "v000002")]
    found = _cli(env, "search", "--index", "mini", "superconducting magnet wire", "-k", "3", "--json")
    assert found["hits"][0]["id"] == "nb3sn"
    metrics = _cli(env, "eval", "--index", "mini", "--queries", fixtures / "queries.jsonl", "--qrels",
                   fixtures / "qrels.tsv", "--mode", "hybrid", "--json")
    assert metrics["queries"] == 4 and metrics["ndcg@10"] > 0.5
    rolled = _cli(env, "index", "rollback", "--index", "mini", "--json")
    assert rolled["version"] == "v000001" and rolled["documents"] == 16
    expected = _cli(env, "search", "--index", "mini", "blue LED semiconductor", "-k", "3", "--mode", "muvera", "--json")
    wiring.qdrant_store(Settings(qdrant_path=tmp_path / "qdrant")).close()  # local mode: one process at a time

    with serve_process(env, timeout_s=600) as served:
        r = httpx.post(f"{served.base}/v1/search", json={"index": "mini", "query": "blue LED semiconductor", "k": 3},
                       timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["version"] == "v000001"
        assert [h["id"] for h in r.json()["hits"]] == [h["id"] for h in expected["hits"]]
        # the server encodes one query on its single-text path, the CLI in a batch: float32 noise only
        assert [h["score"] for h in r.json()["hits"]] == pytest.approx([h["score"] for h in expected["hits"]],
                                                                       abs=1e-4)
        indexes = httpx.get(f"{served.base}/v1/indexes", timeout=10).json()
        assert [(i["name"], i["backend"], i["versions"]) for i in indexes] == [("mini", "qdrant", ["v000001", "v000002"])]
        assert indexes[0]["manifest"]["collection"] == "matlas__mini__v000001"


@pytest.mark.slow
def test_a_qdrant_that_is_down_answers_503_and_faiss_keeps_serving(built_index, tmp_path):
    down = f"http://127.0.0.1:{free_port()}"
    env = {"MATLAS_HOME": str(tmp_path), "MATLAS_INDEX_ROOT": str(built_index.parent), "MATLAS_QDRANT_URL": down,
           "MATLAS_QDRANT_API_KEY": "qdrant-secret-key"}
    with serve_process(env, timeout_s=600) as served:
        ok = httpx.post(f"{served.base}/v1/search", json={"index": "mini", "query": "blue LED semiconductor", "k": 3},
                        timeout=60)
        assert ok.status_code == 200 and ok.json()["hits"][0]["id"] == "gan"
        r = httpx.post(f"{served.base}/v1/search", json={"index": "robocrys", "query": "layered oxide", "k": 3},
                       timeout=60)
        assert r.status_code == 503, r.text
        detail = r.json()["detail"]
        assert "robocrys" in detail and "Qdrant" in detail and "not reachable" in detail and down in detail
        assert "qdrant-secret-key" not in r.text
        listed = httpx.get(f"{served.base}/v1/indexes", timeout=30)
        assert listed.status_code == 200 and [i["name"] for i in listed.json()] == ["mini"]
