"""``sync_materials``: one loopback server plays the live MP, a new snapshot is filled from it."""

from __future__ import annotations

import json
from contextlib import closing

import pytest

from agents.mp.client import MPClient, MPConfig
from agents.mp.snapshot import Snapshot
from agents.mp.sync import sync_materials
from matlas.errors import InvalidInput


def client(endpoint, db) -> MPClient:
    return MPClient(MPConfig(endpoint=endpoint, db_path=db))


def stored(path) -> dict[str, dict]:
    with closing(Snapshot(path).connect(readonly=True)) as conn:
        return {m: json.loads(d) for m, d in conn.execute("SELECT material_id, doc FROM materials")}


def test_sync_by_elements_copies_documents(tmp_path, mp_endpoint, sample):
    target = Snapshot(tmp_path / "synced.sqlite")
    expected = sorted(m for m, r in sample.items() if {"Li", "O"} <= set(r["elements"]))
    assert sync_materials(client(mp_endpoint, target.path), target, elements=["Li", "O"]) == len(
        expected
    )
    docs = stored(target.path)
    assert sorted(docs) == expected
    for material_id, doc in docs.items():
        record = sample[material_id]
        assert {
            k: doc.get(k) for k in ("band_gap", "bulk_modulus", "symmetry", "structure", "ordering")
        } == {
            k: record.get(k)
            for k in ("band_gap", "bulk_modulus", "symmetry", "structure", "ordering")
        }


def test_sync_by_ids_with_limit_upserts(tmp_path, mp_endpoint):
    target = Snapshot(tmp_path / "synced.sqlite")
    source = client(mp_endpoint, target.path)
    ids = ["mp-13", "mp-30", "mp-134"]
    assert sync_materials(source, target, material_ids=ids, limit=2) == 2
    assert sync_materials(source, target, material_ids=ids) == 3
    assert sorted(stored(target.path)) == ["mp-13", "mp-134", "mp-30"]
    assert [p.name for p in target.info().provenance] == [f"synced from {mp_endpoint}"]


@pytest.mark.parametrize(
    "kwargs,update,message",
    [
        ({"elements": ["Li"], "material_ids": ["mp-1"]}, {}, "not both"),
        ({"elements": ["Li"]}, {"mp_endpoint": None}, "sync needs a live endpoint"),
        ({"elements": ["Li"], "limit": 0}, {}, "limit must be at least 1"),
    ],
)
def test_sync_refuses_unclear_requests(tmp_path, mp_endpoint, kwargs, update, message):
    source = client(update.get("mp_endpoint", mp_endpoint), tmp_path / "s.sqlite")
    with pytest.raises(InvalidInput, match=message):
        sync_materials(source, Snapshot(tmp_path / "s.sqlite"), **kwargs)
