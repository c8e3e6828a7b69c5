"""``sync_materials``: one loopback server plays the live MP, a new snapshot is filled from it."""

from __future__ import annotations

import json
from contextlib import closing

import pytest

from agents.mp.snapshot import Snapshot
from agents.mp.sync import sync_materials
from matlas.errors import InvalidInput


def stored(path) -> dict[str, dict]:
    with closing(Snapshot(path).connect(readonly=True)) as conn:
        return {m: json.loads(d) for m, d in conn.execute("SELECT material_id, doc FROM materials")}


def test_sync_by_elements_copies_documents(tmp_path, mp_settings, sample):
    settings = mp_settings.model_copy(update={"mp_db": tmp_path / "synced.sqlite"})
    expected = sorted(m for m, r in sample.items() if {"Li", "O"} <= set(r["elements"]))
    assert sync_materials(settings, elements=["Li", "O"]) == len(expected)
    docs = stored(settings.mp_db_path)
    assert sorted(docs) == expected
    for material_id, doc in docs.items():
        record = sample[material_id]
        assert {
            k: doc.get(k) for k in ("band_gap", "bulk_modulus", "symmetry", "structure", "ordering")
        } == {
            k: record.get(k)
            for k in ("band_gap", "bulk_modulus", "symmetry", "structure", "ordering")
        }


def test_sync_by_ids_with_limit_upserts(tmp_path, mp_settings):
    settings = mp_settings.model_copy(update={"mp_db": tmp_path / "synced.sqlite"})
    assert sync_materials(settings, material_ids=["mp-13", "mp-30", "mp-134"], limit=2) == 2
    assert sync_materials(settings, material_ids=["mp-13", "mp-30", "mp-134"]) == 3
    assert sorted(stored(settings.mp_db_path)) == ["mp-13", "mp-134", "mp-30"]


@pytest.mark.parametrize(
    "kwargs,update,message",
    [
        ({"elements": ["Li"], "material_ids": ["mp-1"]}, {}, "not both"),
        ({"elements": ["Li"]}, {"mp_endpoint": None}, "sync needs a live endpoint"),
        ({"elements": ["Li"], "limit": 0}, {}, "limit must be at least 1"),
    ],
)
def test_sync_refuses_unclear_requests(tmp_path, mp_settings, kwargs, update, message):
    settings = mp_settings.model_copy(update={"mp_db": tmp_path / "s.sqlite", **update})
    with pytest.raises(InvalidInput, match=message):
        sync_materials(settings, **kwargs)
