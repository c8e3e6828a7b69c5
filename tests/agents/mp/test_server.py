"""The real ``MPRester`` over HTTP against the snapshot server: every endpoint the agents use."""

from __future__ import annotations

import httpx
import pytest
from emmet.core.symmetry import CrystalSystem
from pymatgen.analysis.magnetism import Ordering
from pymatgen.core import Structure


def ids(docs) -> list[str]:
    return [str(d.material_id) for d in docs]


def test_summary_by_ids_returns_snapshot_values(mpr, sample):
    docs = mpr.materials.summary.search(
        material_ids=["mp-804", "mp-149"],
        fields=["material_id", "band_gap", "bulk_modulus", "symmetry"],
    )
    assert sorted(ids(docs)) == ["mp-149", "mp-804"]
    for doc in docs:
        record = sample[str(doc.material_id)]
        assert doc.band_gap == record["band_gap"]
        assert doc.bulk_modulus == record["bulk_modulus"]
        assert doc.symmetry.number == record["symmetry"]["number"]
    assert "formation_energy_per_atom" in docs[0].fields_not_requested


def test_summary_all_fields_is_a_full_document(mpr, sample):
    [doc] = mpr.materials.summary.search(material_ids="mp-19017")
    record = sample["mp-19017"]
    assert (doc.formula_pretty, doc.energy_above_hull, doc.ordering) == (
        record["formula_pretty"],
        record["energy_above_hull"],
        record["ordering"],
    )
    assert (
        doc.has_props["thermo"] and doc.has_props["magnetism"] and not doc.has_props["dielectric"]
    )
    assert Structure.from_dict(record["structure"]) == doc.structure


@pytest.mark.parametrize("fields", [["material_id", "e_total"], None])
def test_a_field_the_first_document_lacks_still_arrives(mpr, sample, fields):
    # mp-api builds its result model from the first document: every document carries every field
    docs = mpr.materials.summary.search(
        material_ids=["mp-13", "mp-149"], _sort_fields="material_id", fields=fields
    )
    assert ids(docs) == ["mp-13", "mp-149"]
    assert [d.e_total for d in docs] == [
        sample["mp-13"].get("e_total"),
        sample["mp-149"]["e_total"],
    ]


@pytest.mark.parametrize("formula", ["TiO2", "Ti2O4", "O2Ti", "AB2"])
def test_summary_formula_matches_reduced_and_anonymous(mpr, sample, formula):
    docs = mpr.materials.summary.search(formula=formula, fields=["material_id"])
    key = "formula_anonymous" if formula == "AB2" else "formula_pretty"
    expected = "AB2" if formula == "AB2" else "TiO2"
    assert sorted(ids(docs)) == sorted(m for m, r in sample.items() if r[key] == expected)


def test_summary_chemsys_elements_and_exclusions(mpr, sample):
    by_chemsys = mpr.materials.summary.search(chemsys=["Li-Fe-O-P", "O-Li"], fields=["material_id"])
    assert sorted(ids(by_chemsys)) == sorted(
        m for m, r in sample.items() if r["chemsys"] in {"Fe-Li-O-P", "Li-O"}
    )
    with_all = mpr.materials.summary.search(
        elements=["Li", "O"], exclude_elements=["Co"], fields=["material_id"]
    )
    assert sorted(ids(with_all)) == sorted(
        m
        for m, r in sample.items()
        if {"Li", "O"} <= set(r["elements"]) and "Co" not in r["elements"]
    )


def test_summary_ranges_sort_and_limit(mpr, sample):
    docs = mpr.materials.summary.search(
        band_gap=(1.0, 3.0),
        is_metal=False,
        _sort_fields="-band_gap",
        fields=["material_id", "band_gap"],
    )
    expected = sorted((r["band_gap"], m) for m, r in sample.items() if 1.0 <= r["band_gap"] <= 3.0)
    assert [d.band_gap for d in docs] == [g for g, _ in reversed(expected)]

    top = mpr.materials.summary.search(
        energy_above_hull=(0, 0),
        _sort_fields="density",
        fields=["material_id"],
        num_chunks=1,
        chunk_size=3,
    )
    stable = sorted((r["density"], m) for m, r in sample.items() if r["energy_above_hull"] == 0)
    assert ids(top) == [m for _, m in stable[:3]]


def test_summary_symmetry_magnetism_and_count(mpr, sample):
    cubic_metals = mpr.materials.summary.search(
        crystal_system=CrystalSystem.cubic, is_metal=True, fields=["material_id"]
    )
    assert sorted(ids(cubic_metals)) == sorted(
        m for m, r in sample.items() if r["symmetry"]["crystal_system"] == "Cubic" and r["is_metal"]
    )
    ferro = mpr.materials.summary.search(magnetic_ordering=Ordering.FM, fields=["material_id"])
    assert sorted(ids(ferro)) == sorted(m for m, r in sample.items() if r["ordering"] == "FM")
    assert mpr.materials.summary.count({"spacegroup_number": 225}) == sum(
        r["symmetry"]["number"] == 225 for r in sample.values()
    )


def test_pagination_reaches_every_document(mpr, sample):
    docs = mpr.materials.summary.search(num_elements=(1, 10), fields=["material_id"], chunk_size=4)
    assert sorted(ids(docs)) == sorted(sample)
    page = mpr.materials.summary.search(
        num_elements=(1, 10), _sort_fields="-volume", _page=2, chunk_size=5, fields=["material_id"]
    )
    by_volume = sorted(sample, key=lambda m: -sample[m]["volume"])
    assert ids(page) == by_volume[5:10]


def test_thermo(mpr, sample):
    [doc] = mpr.materials.thermo.search(material_ids=["mp-390"])
    record = sample["mp-390"]
    assert (doc.formation_energy_per_atom, doc.energy_above_hull, doc.is_stable) == (
        record["formation_energy_per_atom"],
        record["energy_above_hull"],
        record["is_stable"],
    )
    assert doc.thermo_type.value == "GGA_GGA+U"
    unstable = mpr.materials.thermo.search(
        is_stable=False, thermo_types=["GGA_GGA+U"], fields=["material_id"]
    )
    assert sorted(ids(unstable)) == sorted(m for m, r in sample.items() if not r["is_stable"])
    assert (
        mpr.materials.thermo.search(
            material_ids=["mp-390"], thermo_types=["R2SCAN"], fields=["material_id"]
        )
        == []
    )


def test_elasticity(mpr, sample):
    [doc] = mpr.materials.elasticity.search(
        material_ids="mp-149", fields=["material_id", "bulk_modulus", "shear_modulus"]
    )
    assert doc.bulk_modulus.vrh == sample["mp-149"]["bulk_modulus"]["vrh"]
    assert doc.shear_modulus.vrh == sample["mp-149"]["shear_modulus"]["vrh"]
    stiff = mpr.materials.elasticity.search(g_vrh=(100, 1000), fields=["material_id"])
    assert sorted(ids(stiff)) == sorted(
        m for m, r in sample.items() if r["shear_modulus"]["vrh"] >= 100
    )


def test_magnetism(mpr, sample):
    [doc] = mpr.materials.magnetism.search(material_ids=["mp-13"])
    assert doc.ordering == sample["mp-13"]["ordering"]
    assert doc.total_magnetization == sample["mp-13"]["total_magnetization"]
    assert [str(s) for s in doc.types_of_magnetic_species] == ["Fe"]
    magnetic = mpr.materials.magnetism.search(
        total_magnetization=(0.5, 100), fields=["material_id"]
    )
    assert sorted(ids(magnetic)) == sorted(
        m for m, r in sample.items() if r["total_magnetization"] >= 0.5
    )


def test_dielectric_only_where_measured(mpr, sample):
    docs = mpr.materials.dielectric.search(material_ids=["mp-1265", "mp-13"])
    assert ids(docs) == ["mp-1265"]
    assert (docs[0].e_total, docs[0].n) == (sample["mp-1265"]["e_total"], sample["mp-1265"]["n"])
    high_k = mpr.materials.dielectric.search(e_total=(20, 1000), fields=["material_id", "e_total"])
    assert sorted(ids(high_k)) == sorted(m for m, r in sample.items() if r.get("e_total", 0) >= 20)


def test_electronic_structure(mpr, sample):
    [doc] = mpr.materials.electronic_structure.search(material_ids=["mp-804"])
    assert (doc.band_gap, doc.is_gap_direct, doc.is_metal) == (
        sample["mp-804"]["band_gap"],
        sample["mp-804"]["is_gap_direct"],
        sample["mp-804"]["is_metal"],
    )
    wide = mpr.materials.electronic_structure.search(
        band_gap=(4, 10), elements=["O"], fields=["material_id"]
    )
    assert sorted(ids(wide)) == sorted(
        m for m, r in sample.items() if r["band_gap"] >= 4 and "O" in r["elements"]
    )


def test_core_structure_round_trips(mpr, sample):
    structure = mpr.get_structure_by_material_id("mp-19017")
    expected = Structure.from_dict(sample["mp-19017"]["structure"])
    assert isinstance(structure, Structure) and structure == expected
    assert mpr.get_material_ids("Fe2O3") == ["mp-19770"]
    [doc] = mpr.materials.search(
        material_ids=["mp-2534"], fields=["material_id", "symmetry", "structure"]
    )
    assert doc.symmetry.symbol == sample["mp-2534"]["symmetry"]["symbol"]


def test_synthesis_recipes_for_lifepo4(mpr, sample_recipes):
    docs = mpr.materials.synthesis.search(target_formula="LiFePO4")
    assert sorted(d.doi for d in docs) == sorted(
        r["doi"] for r in sample_recipes if r["target_mp_id"] == "mp-19017"
    )
    doc = next(d for d in docs if d.doi == sample_recipes[0]["doi"])
    assert doc.precursors_formula == sample_recipes[0]["precursors_formula"]
    heating = [op for op in doc.operations if op.type.value == "HeatingOperation"]
    assert heating and heating[-1].conditions.heating_temperature[0].values == [700.0]


def test_synthesis_keywords_and_conditions(mpr, sample_recipes):
    docs = mpr.materials.synthesis.search(
        keywords=["argon"], synthesis_type=["sol-gel"], operations=["HeatingOperation"]
    )
    expected = {
        r["doi"]
        for r in sample_recipes
        if r["synthesis_type"] == "sol-gel"
        and "argon" in (r["text"] + r["paragraph_excerpt"]).lower()
    }
    assert {d.doi for d in docs} == expected and len(expected) > 0
    assert [d.search_score for d in docs] == sorted((d.search_score for d in docs), reverse=True)
    hot = mpr.materials.synthesis.search(condition_heating_temperature_min=1250)
    assert {d.doi for d in hot} == {r["doi"] for r in sample_recipes if "T=1300 C" in r["text"]}


def test_heartbeat_is_what_mprester_reads(mp_endpoint):
    beat = httpx.get(mp_endpoint + "heartbeat").json()
    assert beat["access_controlled_batch_ids"] == [] and beat["db_version"] and beat["version"]


@pytest.mark.parametrize(
    "query,detail",
    [
        ({"xyz": "1"}, "unknown parameter 'xyz' for /materials/summary/"),
        ({"band_gap_min": "big"}, "parameter 'band_gap_min' must be a number, got 'big'"),
        ({"band_gap_min": "3", "band_gap_max": "1"}, "empty range for band_gap: min 3 > max 1"),
        ({"_limit": "5000"}, "parameter '_limit' must be in [1, 1000], got 5000"),
        ({"formula": "Si)2"}, "cannot parse formula 'Si)2'"),
        ({"chemsys": "Li-*-Li"}, "cannot parse chemsys 'Li-*-Li'"),
        ({"_sort_fields": "band_gap'--"}, "cannot sort on"),
        ({"_sort_fields": "-colour"}, "cannot sort on '-colour': /materials/summary/ documents have"),
        ({"is_metal": "maybe"}, "parameter 'is_metal' must be true or false, got 'maybe'"),
    ],
)
def test_bad_requests_are_400_with_a_reason(mp_endpoint, query, detail):
    r = httpx.get(mp_endpoint + "materials/summary/", params=query)
    assert r.status_code == 400 and detail in r.json()["detail"]


def test_envelope_and_projection_as_mp(mp_endpoint, sample):
    r = httpx.get(
        mp_endpoint + "materials/elasticity/",
        params={
            "material_ids": "mp-30,mp-134",
            "_fields": "material_id,bulk_modulus.vrh",
            "_limit": 1,
        },
    )
    body = r.json()
    assert body["meta"]["total_doc"] == 2 and body["meta"]["max_limit"] == 1000
    assert body["data"] == [
        {"material_id": "mp-134", "bulk_modulus": {"vrh": sample["mp-134"]["bulk_modulus"]["vrh"]}}
    ]
