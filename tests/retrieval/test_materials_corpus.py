"""The default materials corpus generated from pymatgen's bundled data."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.corpus import Document, load_corpus
from retrieval.materials_corpus import build_materials_corpus
from tests._support.corpora import write_corpus


@pytest.fixture(scope="module")
def built() -> tuple[list[Document], int]:
    return build_materials_corpus()


@pytest.fixture(scope="module")
def by_id(built: tuple[list[Document], int]) -> dict[str, Document]:
    return {doc.id: doc for doc in built[0]}


def test_size_and_sources(built: tuple[list[Document], int]) -> None:
    docs, failed = built
    assert 300 <= len(docs) <= 600
    assert failed <= 5  # nearly every structure is analysed
    sources = {doc.metadata["source"] for doc in docs}
    assert sources == {
        "pymatgen AFLOW prototype library",
        "pymatgen.util.testing structures",
        "pymatgen periodic table",
    }
    assert sum(doc.id.startswith("proto-") for doc in docs) >= 250
    assert sum(doc.id.startswith("element-") for doc in docs) == 118


def test_ids_unique_and_docs_non_empty(built: tuple[list[Document], int]) -> None:
    docs = built[0]
    assert len({doc.id for doc in docs}) == len(docs)
    assert all(doc.title.strip() and doc.text.strip() for doc in docs)


def test_rock_salt(by_id: dict[str, Document]) -> None:
    doc = by_id["proto-AB_cF8_225_a_b"]
    assert doc.metadata["formula"] == "NaCl"
    assert doc.metadata["strukturbericht"] == "B1"
    assert (doc.metadata["spacegroup_symbol"], doc.metadata["spacegroup_number"]) == ("Fm-3m", 225)
    assert doc.metadata["crystal_system"] == "cubic"
    assert "Rock Salt" in doc.title
    for fact in ("Fm-3m (No. 225)", "cubic", "Cl -1, Na +1", "Na 6", "a = 5.639 Å"):
        assert fact in doc.text


def test_diamond(by_id: dict[str, Document]) -> None:
    doc = by_id["proto-A_cF8_227_a"]
    assert doc.metadata["formula"] == "C"
    assert doc.metadata["mineral"] == "diamond"
    assert doc.metadata["spacegroup_number"] == 227
    for fact in ("Fd-3m (No. 227)", "C 4", "Strukturbericht A4"):
        assert fact in doc.text


def test_repeated_aflow_labels_get_distinct_ids(by_id: dict[str, Document]) -> None:
    assert by_id["proto-AB2_oP6_58_a_g-FeS2"].metadata["mineral"] == "Marcasite"
    assert by_id["proto-AB2_oP6_58_a_g-CaCl2"].metadata["prototype"] == "AB2_oP6_58_a_g"


def test_detected_space_groups_agree_with_aflow_labels(built: tuple[list[Document], int]) -> None:
    protos = [doc for doc in built[0] if doc.id.startswith("proto-")]
    agree = sum(
        str(doc.metadata["spacegroup_number"]) == doc.metadata["prototype"].split("_")[2]
        for doc in protos
    )
    assert agree >= 0.95 * len(protos)


def test_example_and_element(by_id: dict[str, Document]) -> None:
    lfp = by_id["example-LiFePO4"]
    assert lfp.metadata["spacegroup_symbol"] == "Pnma"
    assert lfp.metadata["has_transition_metal"] and lfp.metadata["has_alkali_metal"]
    iron = by_id["element-Fe"]
    assert iron.metadata["atomic_number"] == 26
    for fact in ("Iron (Fe)", "atomic number 26", "group 8", "+2, +3", "transition metal"):
        assert fact in iron.text


def test_deterministic_and_round_trips(built: tuple[list[Document], int], tmp_path: Path) -> None:
    """``write_corpus`` calls ``materials_corpus`` afresh: equal after reload = deterministic."""
    path = tmp_path / "corpus.jsonl"
    assert write_corpus(path) == len(built[0])
    assert load_corpus(path) == built[0]
