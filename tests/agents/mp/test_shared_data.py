"""The real MP slice in ../shared/data/mp imports and is served with its own values."""

from __future__ import annotations

import json

import pytest
from mp_api.client import MPRester

from agents.mp.client import OFFLINE_API_KEY
from agents.mp.server import serve_snapshot
from agents.mp.snapshot import Snapshot


@pytest.mark.data
@pytest.mark.slow
def test_shared_materials_import_and_serve(tmp_path, shared_data):
    source = shared_data / "mp" / "materials.jsonl"
    records = {r["material_id"]: r for r in map(json.loads, source.read_text().splitlines())}
    snapshot = Snapshot(tmp_path / "mp.sqlite")
    assert snapshot.import_materials(source, progress=False) == len(records)

    with (
        serve_snapshot(snapshot.path) as url,
        MPRester(api_key=OFFLINE_API_KEY, endpoint=url, mute_progress_bars=True) as mpr,
    ):
        [si] = mpr.materials.elasticity.search(
            material_ids=["mp-149"], fields=["material_id", "bulk_modulus"]
        )
        assert (
            round(si.bulk_modulus.vrh, 1)
            == 83.0
            == round(records["mp-149"]["bulk_modulus"]["vrh"], 1)
        )
        gan = mpr.materials.summary.search(formula="GaN", fields=["material_id", "band_gap"])
        assert {str(d.material_id): d.band_gap for d in gan} == {
            m: r.get("band_gap") for m, r in records.items() if r["formula_pretty"] == "GaN"
        }
        n_gapped = mpr.materials.summary.count({"band_gap_min": 0.0, "band_gap_max": 100.0})
        assert n_gapped == sum(r.get("band_gap") is not None for r in records.values())
