"""The SQLite snapshot: idempotent, atomic imports with clear errors, and recipes in MP's shape."""

from __future__ import annotations

import gzip
import json
import sqlite3
from contextlib import closing

import pytest
from emmet.core.synthesis import SynthesisSearchResultModel

from agents.mp.documents import anonymous_formula, recipe_doc, reduced_formula
from agents.mp.snapshot import DEFAULT_MATERIALS, Snapshot
from matlas.errors import InvalidInput
from tests._support.mp import MP_SAMPLE, sample_snapshot

SAMPLE_MATERIALS = MP_SAMPLE / "materials.jsonl"


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def doc_of(snapshot, material_id):
    with closing(snapshot.connect(readonly=True)) as conn:
        return json.loads(
            conn.execute(
                "SELECT doc FROM materials WHERE material_id = ?", (material_id,)
            ).fetchone()[0]
        )


def test_import_is_idempotent_and_upserts(tmp_path, sample):
    snapshot = Snapshot(tmp_path / "mp.sqlite")
    assert snapshot.import_materials(SAMPLE_MATERIALS, progress=False) == len(sample)
    assert snapshot.import_materials(SAMPLE_MATERIALS, progress=False) == len(sample)
    assert snapshot.info().materials == len(sample)

    changed = sample["mp-149"] | {"band_gap": 1.11}
    snapshot.import_materials(write_jsonl(tmp_path / "one.jsonl", [changed]), progress=False)
    assert snapshot.info().materials == len(sample)
    assert doc_of(snapshot, "mp-149")["band_gap"] == 1.11
    with closing(
        snapshot.connect(readonly=True)
    ) as conn:  # the generated column follows the document
        assert (
            conn.execute("SELECT band_gap FROM materials WHERE material_id = 'mp-149'").fetchone()[
                0
            ]
            == 1.11
        )
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_bad_line_names_file_and_line_and_rolls_back(tmp_path, sample):
    good = list(sample.values())[:3]
    path = write_jsonl(tmp_path / "bad.jsonl", good)
    path.write_text(path.read_text() + '{"material_id": "mp-1", "formula_pretty": \n')
    snapshot = Snapshot(tmp_path / "mp.sqlite")
    with pytest.raises(InvalidInput, match=r"bad\.jsonl:4: not valid JSON"):
        snapshot.import_materials(path, progress=False)
    assert snapshot.info().materials == 0  # one transaction: nothing of the file was kept

    missing = write_jsonl(
        tmp_path / "missing.jsonl", [good[0], {"material_id": "mp-2", "formula_pretty": "Pd"}]
    )
    with pytest.raises(InvalidInput, match=r"missing\.jsonl:2: chemsys: Field required"):
        snapshot.import_materials(missing, progress=False)
    with pytest.raises(InvalidInput, match="no such file"):
        snapshot.import_materials(tmp_path / "nope.jsonl", progress=False)


def test_synthesis_import_gz_and_full_text(tmp_path, sample_recipes):
    path = tmp_path / "recipes.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in sample_recipes)
    snapshot = Snapshot(tmp_path / "mp.sqlite")
    assert snapshot.import_synthesis(path, progress=False) == len(sample_recipes)
    assert snapshot.import_synthesis(path, progress=False) == len(sample_recipes)
    with closing(snapshot.connect(readonly=True)) as conn:
        assert conn.execute("SELECT count(*) FROM synthesis_fts").fetchone()[0] == len(
            sample_recipes
        )
        hits = conn.execute(
            "SELECT recipe_id FROM synthesis JOIN synthesis_fts ON id = synthesis_fts.rowid "
            "WHERE synthesis_fts MATCH 'zirconia'"
        ).fetchall()
    assert {h[0] for h in hits} == {
        r["recipe_id"] for r in sample_recipes if "zirconia" in r["text"]
    }

    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps(sample_recipes[0] | {"operations": [{"type": "Levitating", "token": "x"}]})
        + "\n"
    )
    with pytest.raises(InvalidInput, match=r"bad\.jsonl:1: unknown operation type 'Levitating'"):
        snapshot.import_synthesis(bad, progress=False)


def test_ensure_builds_the_real_mp_default_once(tmp_path):
    path = tmp_path / "sub" / "mp.sqlite"
    with gzip.open(DEFAULT_MATERIALS, "rt") as f:
        records = {r["material_id"]: r for r in map(json.loads, f)}
    info = Snapshot.ensure(path).info()
    assert (info.materials, info.synthesis_recipes, info.sample) == (len(records), 0, False)
    assert len(records) == 5232  # the shared MP slice, shipped whole (see agents/mp/data/NOTICE.md)
    assert info.provenance[0].license == "CC BY 4.0"
    with closing(sqlite3.connect(path)) as conn:
        [(doc,)] = conn.execute("SELECT doc FROM materials WHERE material_id = 'mp-830'")
    assert json.loads(doc)["band_gap"] == records["mp-830"]["band_gap"]
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DELETE FROM materials WHERE material_id = 'mp-149'")
        conn.commit()
    assert Snapshot.ensure(path).info().materials == len(records) - 1  # an existing file stays
    assert [p.name for p in path.parent.iterdir() if "partial" in p.name] == []


def test_the_sample_fixture_is_marked_sample(tmp_path, sample, sample_recipes):
    path = tmp_path / "sub" / "mp.sqlite"
    info = sample_snapshot(path).info()
    assert (info.materials, info.synthesis_recipes) == (len(sample), len(sample_recipes))
    assert info.sample and info.provenance[0].sample
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DELETE FROM materials WHERE material_id = 'mp-149'")
        conn.commit()


def test_readonly_missing_snapshot_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInput, match="run `matlas mp import` first"):
        Snapshot(tmp_path / "none.sqlite").info()


def test_recipe_doc_is_mp_shaped_with_normalised_units():
    recipe = {
        "recipe_id": "r1",
        "synthesis_type": "solid-state",
        "doi": "10.5555/x",
        "target_formula": "Fe4O6",
        "target_mp_id": None,
        "targets_string": [],
        "precursors_formula": ["Fe2(C2O4)3·2H2O"],
        "reaction_string": "2 FeO + 0.5 O2 == 1 Fe2O3",
        "operations": [
            {"type": "LiquidGrinding", "token": "milled", "conditions": "media=acetone"},
            {
                "type": "HeatingOperation",
                "token": "fired",
                "conditions": "T=873 K; T=700/750 °C; t=90 min; atmosphere=air, air",
            },
        ],
        "paragraph_excerpt": "...",
        "text": "...",
    }
    doc = recipe_doc(recipe)
    SynthesisSearchResultModel.model_validate(doc)
    mixing, heating = doc["operations"]
    assert mixing["type"] == "MixingOperation" and mixing["conditions"] == {
        "mixing_media": "acetone"
    }
    temps = heating["conditions"]["heating_temperature"]
    assert temps[0]["values"] == [pytest.approx(599.85)] and temps[1]["values"] == [700.0, 750.0]
    assert heating["conditions"]["heating_time"][0]["values"] == [1.5]
    assert heating["conditions"]["heating_atmosphere"] == ["air"]
    assert doc["targets_formula_s"] == ["Fe2O3"] and doc["precursors"][0]["composition"] == []
    assert doc["reaction"]["left_side"][1] == {"amount": "0.5", "material": "O2"}


def test_formula_normalisation():
    assert reduced_formula("O3Fe2") == "Fe2O3" and reduced_formula("Ti2O4") == "TiO2"
    assert reduced_formula("La3Nb0.5Ga5.5-xAlxO14") is None and reduced_formula("Si*") is None
    assert anonymous_formula("B3A2") == "A2B3" and anonymous_formula("A2B4") == "AB2"
    assert anonymous_formula("ab") is None
