"""``retrieval/crossmodal.py`` without HTTP: snapshot reading, fit and search
(text vectors given, so no encoder is loaded; Hamming distances checked with numpy bit counts)."""

import json

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from matlas.errors import InvalidInput
from retrieval.crossmodal import CrossModalSearcher, fit_crossmodal, load_snapshot
from retrieval.hashing import RREH
from retrieval.hashing.features import structure_features

_SALTS = [("NaCl", ["Na", "Cl"], 5.64), ("KCl", ["K", "Cl"], 6.29), ("MgO", ["Mg", "O"], 4.21), ("LiF", ["Li", "F"], 4.03)]
_METALS = [("Fe", 2.87), ("W", 3.16), ("Cr", 2.88)]


def _write_snapshot(folder):
    rows, texts = [], []
    for i, (formula, els, a) in enumerate(_SALTS):
        rows.append((f"mp-{10 + i}", formula, Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), els,
                                                                        [[0, 0, 0], [0.5, 0.5, 0.5]]), "-".join(sorted(els))))
    for i, (el, a) in enumerate(_METALS):
        rows.append((f"mp-{20 + i}", el, Structure(Lattice.cubic(a), [el, el], [[0, 0, 0], [0.5, 0.5, 0.5]]), el))
    for mid, formula, _, _ in rows[:-1]:  # the last metal has no text
        texts.append({"material_id": mid, "formula_pretty": formula, "description": f"{formula} is a crystal."})
    texts += [{"material_id": "mp-10", "formula_pretty": "NaCl", "description": f"NaCl note {n}."} for n in range(4)]
    texts.append({"material_id": "mp-99", "formula_pretty": "NiO", "description": "NiO, not in the snapshot."})
    with open(folder / "materials.jsonl", "w") as f:
        for mid, formula, s, chemsys in rows:
            f.write(json.dumps({"material_id": mid, "formula_pretty": formula, "chemsys": chemsys,
                                "symmetry": {"symbol": "Fm-3m"}, "structure": s.as_dict()}) + "\n")
    with open(folder / "descriptions_robocrys.jsonl", "w") as f:
        f.writelines(json.dumps(t) + "\n" for t in texts)
    return rows


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mp")
    return folder, _write_snapshot(folder)


def test_snapshot_pairs_texts_with_their_structures(snapshot):
    folder, rows = snapshot
    data = load_snapshot(folder)
    assert [item["id"] for item in data.structure_items][:6] == [r[0] for r in rows[:6]]  # described ones first
    assert len(data.structures) == len(rows) == 7
    paired = [(data.text_items[t]["id"], data.structure_items[s]["id"]) for t, s in data.pairs]
    assert paired.count(("robocrys-mp-10", "mp-10")) == 3  # at most three texts per material
    assert {s for _, s in paired} == {r[0] for r in rows[:-1]}
    unpaired = [item for item in data.text_items if item["material_id"] is None]
    assert [item["id"] for item in unpaired] == ["robocrys-mp-99"]
    assert len(load_snapshot(folder, max_structures=2).structures) == 2


def test_a_folder_without_materials_is_refused(tmp_path):
    with pytest.raises(InvalidInput, match=r"no materials\.jsonl"):
        load_snapshot(tmp_path)


def test_fit_then_search_from_a_structure_ranks_texts_by_hamming_distance(snapshot, tmp_path):
    folder, rows = snapshot
    data = load_snapshot(folder)
    text_vectors = np.random.default_rng(0).standard_normal((len(data.texts), 12)).astype(np.float32)
    hasher = RREH(16, modalities=("text", "structure"), anchors=4, neighbours=2, kernel=6, iters=5)
    manifest = fit_crossmodal(data, tmp_path / "cm", None, hasher=hasher, text_vectors=text_vectors)
    assert manifest["parts"] == {"text": len(data.texts), "structure": 7}
    searcher = CrossModalSearcher(tmp_path / "cm", None)
    assert searcher.hasher.encode(text_vectors[:1], "text").shape == (1, 2)  # 16 bits
    hits = searcher.search(structure=rows[0][2], k=len(data.texts))
    query = searcher.hasher.encode(structure_features([rows[0][2]]), "structure")
    codes = searcher.hasher.encode(text_vectors, "text")
    expected = np.unpackbits(np.bitwise_xor(codes, query), axis=1).sum(axis=1)
    assert [h.hamming for h in hits] == sorted(expected.tolist())
    assert sorted((h.id, h.hamming) for h in hits) == sorted(
        (item["id"], int(d)) for item, d in zip(data.text_items, expected))  # ids repeat: three texts of mp-10
    with pytest.raises(InvalidInput, match="exactly one of text or structure"):
        searcher.search(k=3)


def test_fitting_needs_pairs(snapshot, tmp_path):
    data = load_snapshot(snapshot[0])
    data.pairs = []
    with pytest.raises(InvalidInput, match="no text-structure pairs"):
        fit_crossmodal(data, tmp_path / "cm", None)
