from agents.tools._common import rounded

FIELDS = ("formation_energy_per_atom", "energy_above_hull", "is_stable")


def test_thermo_by_formula_returns_snapshot_values(call, sample):
    out = call("get_thermo", formula=["LiFePO4", "Fe2O3"])
    by_id = {r["material_id"]: r for r in out["results"]}
    assert set(by_id) == {"mp-19017", "mp-19770"}
    for material_id, record in by_id.items():
        assert {k: record[k] for k in FIELDS} == rounded({k: sample[material_id][k] for k in FIELDS})
        assert record["formula_pretty"] == sample[material_id]["formula_pretty"] and record["thermo_type"]


def test_stability_filter(call, sample):
    out = call("get_thermo", formula=["TiO2", "BaTiO3"], is_stable=False)
    expected = {m for m, r in sample.items() if r["formula_pretty"] in {"TiO2", "BaTiO3"} and not r["is_stable"]}
    assert {r["material_id"] for r in out["results"]} == expected and expected


def test_needs_materials_and_reports_no_match(call):
    assert "give material_ids" in call("get_thermo")
    assert call("get_thermo", material_ids=["mp-999999"]) == (
        "get_thermo: no thermo document matches material_ids=[mp-999999]")
