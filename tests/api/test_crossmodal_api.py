import json

import pytest
from fastapi.testclient import TestClient
from pymatgen.core import Lattice, Structure
from typer.testing import CliRunner

from matlas.api import create_app
from matlas.settings import Settings
from retrieval.crossmodal import fit_crossmodal, load_snapshot
from retrieval.hashing import RREH
from retrieval.service import SearchService

_ROCKSALT = [("NaCl", ["Na", "Cl"], 5.64), ("KCl", ["K", "Cl"], 6.29), ("MgO", ["Mg", "O"], 4.21),
             ("LiF", ["Li", "F"], 4.03), ("CaO", ["Ca", "O"], 4.81)]
_BCC = [("Fe", 2.87), ("W", 3.16), ("Cr", 2.88), ("Mo", 3.15)]


def _snapshot(folder):
    """A tiny MP-like snapshot: rock-salt halides/oxides and bcc metals, described or not."""
    rows, texts = [], []
    for i, (formula, els, a) in enumerate(_ROCKSALT):
        s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), els, [[0, 0, 0], [0.5, 0.5, 0.5]])
        rows.append((f"mp-{100 + i}", formula, s, "-".join(sorted(els))))
        texts.append((f"mp-{100 + i}", formula, (f"{formula} crystallizes in the rock-salt structure; "
                                                  f"octahedral {els[0]} bonded to six {els[1]} atoms, an ionic salt.")))
    for i, (el, a) in enumerate(_BCC):
        s = Structure(Lattice.cubic(a), [el, el], [[0, 0, 0], [0.5, 0.5, 0.5]])
        rows.append((f"mp-{200 + i}", el, s, el))
        texts.append((f"mp-{200 + i}", el, f"{el} is a body-centered cubic metal; each atom has eight metallic neighbours."))
    texts.append(("mp-999", "NiO", "NiO crystallizes in the rock-salt structure, an ionic oxide."))  # unpaired text
    texts = [t for t in texts if t[0] not in ("mp-104", "mp-203")]  # unpaired structures
    with open(folder / "materials.jsonl", "w") as f:
        for mid, formula, s, chemsys in rows:
            f.write(json.dumps({"material_id": mid, "formula_pretty": formula, "chemsys": chemsys,
                                "symmetry": {"symbol": "Fm-3m" if "-" in chemsys else "Im-3m"},
                                "structure": s.as_dict()}) + "\n")
    with open(folder / "descriptions_robocrys.jsonl", "w") as f:
        for mid, formula, text in texts:
            f.write(json.dumps({"material_id": mid, "formula_pretty": formula, "description": text}) + "\n")
    return rows


@pytest.fixture(scope="module")
def setup(tmp_path_factory, encoder):
    folder = tmp_path_factory.mktemp("mp")
    rows = _snapshot(folder)
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
