import numpy as np

from agents.tools._common import rounded


def test_band_structure_summary_returns_snapshot_values(call, sample):
    out = call("get_band_structure_summary", formula=["GaN", "Cu"])
    by_id = {r["material_id"]: r for r in out["results"]}
    assert set(by_id) == {"mp-804", "mp-30"}
    for material_id, record in by_id.items():
        for field in ("band_gap", "is_gap_direct", "is_metal"):
            assert record[field] == rounded(sample[material_id][field]), field
    assert by_id["mp-30"]["is_metal"] is True


def test_dielectric_by_id(call, sample):
    out = call("get_dielectric", material_ids=["mp-149", "mp-1265"])
    by_id = {r["material_id"]: r for r in out["results"]}
    for material_id in ("mp-149", "mp-1265"):
        for field in ("e_total", "e_ionic", "e_electronic", "n"):
            assert by_id[material_id][field] == rounded(sample[material_id][field]), field


def test_dielectric_tensor_is_a_handle(call_tensors, artifacts, sample):
    record = call_tensors("get_dielectric", material_ids=["mp-149"])["results"][0]
    tensor = artifacts.get_array(record["total_tensor"])
    assert tensor.shape == (3, 3) and np.isclose(tensor.trace() / 3, sample["mp-149"]["e_total"])


def test_material_without_dielectric_data(call, sample):
    assert "e_total" not in sample["mp-13"]
    assert call("get_dielectric", material_ids=["mp-13"]) == (
        "get_dielectric: no dielectric document matches material_ids=[mp-13]")
