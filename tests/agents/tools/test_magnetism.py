from agents.tools._common import rounded

FIELDS = ("ordering", "is_magnetic", "total_magnetization", "total_magnetization_normalized_formula_units",
          "num_magnetic_sites", "types_of_magnetic_species")


def test_magnetism_returns_snapshot_values(call, sample):
    out = call("get_magnetism", formula=["Fe", "Ni", "Si"])
    by_id = {r["material_id"]: r for r in out["results"]}
    assert set(by_id) == {"mp-13", "mp-23", "mp-149"}
    for material_id, record in by_id.items():
        assert {k: record.get(k) for k in FIELDS} == rounded({k: sample[material_id].get(k) for k in FIELDS})
    assert by_id["mp-13"]["ordering"] == "FM" and by_id["mp-149"]["ordering"] == "NM"


def test_site_moments_are_a_handle(call_tensors, artifacts, sample):
    record = call_tensors("get_magnetism", material_ids=["mp-149"])["results"][0]
    moments = artifacts.get_array(record["magmoms"])
    assert moments.shape == (len(sample["mp-149"]["structure"]["sites"]),)
