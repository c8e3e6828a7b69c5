import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from matlas.api import create_app
from matlas.settings import Settings
from retrieval.crossmodal import fit_crossmodal, load_snapshot
from retrieval.hashing import RREH
from retrieval.service import SearchService
from tests._support.mp_structures import write_snapshot


@pytest.fixture(scope="module")
def setup(tmp_path_factory, encoder):
    folder = tmp_path_factory.mktemp("mp")
    rows = write_snapshot(folder)
    data = load_snapshot(folder)
    assert len(data.pairs) == 7 and len(data.texts) == 8 and len(data.structures) == 9
    indexes = folder / "indexes"
    hasher = RREH(16, modalities=("text", "structure"), anchors=5, neighbours=2, kernel=8, iters=10)
    fit_crossmodal(data, indexes / "crossmodal", encoder, hasher=hasher)
    settings = Settings(index_root=indexes, mp_snapshot=folder)
    service = SearchService(settings.indexes_dir)
    service.encoders.add(encoder)
    with TestClient(create_app(settings, search_service=service)) as client:
        yield client, rows, folder


def test_text_to_structures(setup):
    client, _, _ = setup
    r = client.post("/v1/crossmodal/search", json={"text": "rock-salt ionic salt with octahedral cations", "k": 9})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == "v000001" and body["query_modality"] == "text" and len(body["hits"]) == 9
    assert [h["rank"] for h in body["hits"]] == list(range(1, 10))
    assert body["hits"][0]["hamming"] <= body["hits"][-1]["hamming"]


@pytest.mark.parametrize("kind", ["mp-id", "cif", "dict"])
def test_structure_to_texts(setup, kind):
    client, rows, _ = setup
    s = rows[1][2]
    spec = {"mp-id": "mp-101", "cif": s.to(fmt="cif"), "dict": s.as_dict()}[kind]
    r = client.post("/v1/crossmodal/search", json={"structure": spec, "k": 3})
    assert r.status_code == 200, r.text
    assert r.json()["query_modality"] == "structure" and len(r.json()["hits"]) == 3


@pytest.mark.parametrize("body,status,needle", [
    ({"text": "   "}, 422, "blank"),
    ({"text": "a", "structure": "mp-100"}, 422, "exactly one"),
    ({}, 422, "exactly one"),
    ({"structure": "data_broken\n_cell_length_a x\n"}, 422, "not a readable structure"),
    ({"structure": "mp-424242"}, 422, "not in the snapshot"),
    ({"text": "salt", "index": "nope"}, 404, "unknown index"),
    ({"text": "salt", "index": "../etc"}, 422, "invalid index name"),
])
def test_errors_are_4xx_with_reason(setup, body, status, needle):
    client, _, _ = setup
    r = client.post("/v1/crossmodal/search", json=body)
    assert r.status_code == status and needle in r.text, r.text


def test_cli_search_by_mp_id(setup, monkeypatch):
    from matlas.cli import app

    _, _, folder = setup
    monkeypatch.setenv("MATLAS_INDEX_ROOT", str(folder / "indexes"))
    result = CliRunner().invoke(app, ["hash", "search", "--structure", "mp-200", "--snapshot", str(folder),
                                      "-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 2
    bad = CliRunner().invoke(app, ["hash", "search", "--text", ""])
    assert bad.exit_code != 0
