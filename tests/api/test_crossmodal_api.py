import json

import numpy as np
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


def _hamming(query: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Bits that differ between one packed code and each row of ``codes`` (numpy, not FAISS)."""
    return np.unpackbits(np.bitwise_xor(codes, query), axis=1).sum(axis=1)


def _check_against_hamming(hits, ids, distances, k):
    """Hits are the ``k`` nearest codes with their exact distances; every other item is no nearer."""
    exact = dict(zip(ids, distances.tolist()))
    assert len(hits) == k and [h["rank"] for h in hits] == list(range(1, k + 1))
    assert len({h["id"] for h in hits}) == k
    assert [h["hamming"] for h in hits] == [exact[h["id"]] for h in hits]
    assert [h["hamming"] for h in hits] == sorted(distances.tolist())[:k]


@pytest.fixture(scope="module")
def codes(setup, encoder):
    """The published hasher's codes of every structure and text, and the item ids in index order."""
    from retrieval.crossmodal import CrossModalSearcher
    from retrieval.hashing.features import structure_features, text_features

    _, _, folder = setup
    searcher = CrossModalSearcher(folder / "indexes" / "crossmodal", encoder)
    data = load_snapshot(folder)
    return searcher.hasher, {
        "structure": ([it["id"] for it in data.structure_items],
                      searcher.hasher.encode(structure_features(data.structures), "structure")),
        "text": ([it["id"] for it in data.text_items], searcher.hasher.encode(text_features(data.texts, encoder), "text")),
    }


@pytest.mark.parametrize("k", [1, 4, 9])
@pytest.mark.parametrize("text", ["rock-salt ionic salt with octahedral cations", "body-centered cubic metal"])
def test_text_to_structures_equals_exact_hamming(setup, codes, encoder, text, k):
    from retrieval.hashing.features import text_features

    client, _, _ = setup
    r = client.post("/v1/crossmodal/search", json={"text": text, "k": k})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == "v000001" and body["query_modality"] == "text"
    hasher, items = codes
    ids, stored = items["structure"]
    assert len(ids) == 9
    query = hasher.encode(text_features([text], encoder), "text")[0]
    _check_against_hamming(body["hits"], ids, _hamming(query, stored), k)


def test_text_query_ranks_its_structure_family_first(setup):
    """Learned codes: a rock-salt text finds rock-salt structures before bcc metals, and the reverse."""
    client, rows, _ = setup
    rocksalt = {mid for mid, _, _, chemsys in rows if "-" in chemsys}
    for text, family in (("rock-salt ionic salt with octahedral cations", rocksalt),
                         ("body-centered cubic metal with eight metallic neighbours", {r[0] for r in rows} - rocksalt)):
        hits = client.post("/v1/crossmodal/search", json={"text": text, "k": 9}).json()["hits"]
        nearest = min(h["hamming"] for h in hits if h["id"] not in family)
        assert [h["id"] for h in hits if h["hamming"] < nearest] and all(
            h["id"] in family for h in hits if h["hamming"] < nearest), hits


@pytest.mark.parametrize(("kind", "k"), [("mp-id", 1), ("mp-id", 3), ("cif", 3), ("dict", 3)])
def test_structure_to_texts_equals_exact_hamming(setup, codes, kind, k):
    from retrieval.hashing.features import structure_features

    client, rows, _ = setup
    s = rows[1][2]
    spec = {"mp-id": "mp-101", "cif": s.to(fmt="cif"), "dict": s.as_dict()}[kind]
    r = client.post("/v1/crossmodal/search", json={"structure": spec, "k": k})
    assert r.status_code == 200, r.text
    assert r.json()["query_modality"] == "structure"
    hasher, items = codes
    ids, stored = items["text"]
    assert len(ids) == 8
    query = hasher.encode(structure_features([rows[1][2]]), "structure")[0]
    _check_against_hamming(r.json()["hits"], ids, _hamming(query, stored), k)


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
