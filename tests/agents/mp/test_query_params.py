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
