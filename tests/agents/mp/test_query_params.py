"""MP query parameters the client tests do not reach, over HTTP against the sample snapshot: ``has_props``
and ``thermo_ids``; the expected ids are read from the fixture's raw records."""

from __future__ import annotations

import httpx
import pytest


def ids(endpoint: str, route: str, **params) -> set[str]:
    r = httpx.get(f"{endpoint}{route}/", params={"_fields": "material_id", "_limit": 1000, **params})
    assert r.status_code == 200, r.text
    return {d["material_id"] for d in r.json()["data"]}


def test_has_props_keeps_materials_with_every_listed_endpoint(mp_endpoint, sample):
    dielectric = {m for m, r in sample.items() if r.get("e_total") is not None}
    assert 0 < len(dielectric) < len(sample)
    assert ids(mp_endpoint, "materials/summary", has_props="dielectric") == dielectric
    assert ids(mp_endpoint, "materials/summary", has_props="dielectric,elasticity") == dielectric
    assert ids(mp_endpoint, "materials/summary", has_props=["thermo", "electronic_structure"]) == set(sample)


def test_unknown_has_props_is_refused(mp_endpoint):
    r = httpx.get(mp_endpoint + "materials/summary/", params={"has_props": "dielectric,colour"})
    assert r.status_code == 400 and "unknown has_props ['colour']" in r.json()["detail"]


@pytest.mark.parametrize("given,found", [
    ("mp-149_GGA_GGA+U", {"mp-149"}),
    ("mp-149-GGA_GGA+U,mp-804_GGA_GGA+U", {"mp-149", "mp-804"}),  # both separators MP uses
    ("mp-149_R2SCAN,mp-804", set()),  # another thermo type, or no type: not the snapshot's
])
def test_thermo_ids_name_the_snapshots_thermo_type(mp_endpoint, given, found):
    assert ids(mp_endpoint, "materials/thermo", thermo_ids=given) == found


@pytest.mark.parametrize("formula,pattern,fits", [
    ("Fe2O3", "*2O3", True), ("Al2O3", "*4O6", True), ("Fe2O3", "O3*2", True),  # order and multiples free
    ("FeO", "*2O3", False), ("Fe2S3", "*2O3", False), ("Fe2O3", "*3O2", False),
    ("LiFePO4", "*Fe*O4", True), ("LiFePO4", "**PO4", True), ("LiFePO4", "*2PO4", False),
    ("Fe2O3", "Fe2O3", False),  # not a wildcard formula
    (None, "*2O3", False), ("", "*O", False),
])
def test_wildcard_formula_by_hand(formula, pattern, fits):
    from agents.mp.filters import formula_matches

    assert formula_matches(formula, pattern) is fits


def by_formula(sample, test) -> set[str]:
    return {m for m, r in sample.items() if test(r["formula_pretty"], r["nelements"], r["elements"])}


def test_several_wildcard_formulas_and_chemsys_in_one_parameter(mp_endpoint, sample):
    # X2O3 and XO binaries of the sample, read off their formulas
    x2o3_or_xo = by_formula(sample, lambda f, n, els: n == 2 and "O" in els and (f.endswith("2O3") or
                                                                                  f in {"MgO", "ZnO"}))
    assert x2o3_or_xo == {"mp-19770", "mp-1143", "mp-1265", "mp-2133"}
    assert ids(mp_endpoint, "materials/summary", formula="*2O3,*O") == x2o3_or_xo
    assert ids(mp_endpoint, "materials/summary", formula=["*2O3", "Si"]) == {"mp-19770", "mp-1143", "mp-149"}
    binaries = by_formula(sample, lambda f, n, els: n == 2)
    assert ids(mp_endpoint, "materials/summary", chemsys="*-*") == binaries
    li_ternary_or_ga_binary = by_formula(sample, lambda f, n, els: (n == 3 and "Li" in els and "O" in els)
                                         or (n == 2 and "Ga" in els))
    assert ids(mp_endpoint, "materials/summary", chemsys="Li-*-O,Ga-*") == li_ternary_or_ga_binary


def test_a_one_value_parameter_given_twice_is_refused(mp_endpoint):
    r = httpx.get(mp_endpoint + "materials/summary/", params=[("is_metal", "true"), ("is_metal", "false")])
    assert r.status_code == 400 and "parameter 'is_metal' takes one value, got 2" in r.json()["detail"]
