"""MP's semantics on the snapshot server, through the real mp-api client: every route the client
knows, list fields never null, booleans, wildcards, case, sort fields, thermo types, highlights,
entries (``get_entries``, ``get_entry_by_material_id``, ``get_entries_in_chemsys``)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import httpx
import pytest
from emmet.core.mpid import AlphaID
from mp_api.client import MPRester
from mp_api.client.core import MPRestError
from pymatgen.core import Composition

from agents.mp.client import OFFLINE_API_KEY
from agents.mp.routes import client_routes, route_model
from agents.mp.server import serve_snapshot
from agents.mp.snapshot import MaterialRecord
from matlas.errors import InvalidInput
from tests._support.mp import LI_MG, sample_snapshot, write_li_mg_entries

UNKNOWN_METAL = "mp-999999"  # a material whose metallicity and stability nobody computed


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory, sample):
    """The sample, one material without is_metal / is_stable, and the Li-Mg entries."""
    root = tmp_path_factory.mktemp("mp-semantics")
    snap = sample_snapshot(root / "mp.sqlite")
    unknown = {k: sample["mp-149"][k] for k in ("formula_pretty", "chemsys", "elements", "nelements")}
    snap.upsert_materials([MaterialRecord(material_id=UNKNOWN_METAL, **unknown)])
    snap.import_entries(write_li_mg_entries(root / "li-mg.json"), progress=False)
    return snap


@pytest.fixture(scope="module")
def endpoint(snapshot):
    with serve_snapshot(snapshot.path) as url:
        yield url


@pytest.fixture(scope="module")
def mpr(endpoint):
    with MPRester(api_key=OFFLINE_API_KEY, endpoint=endpoint, mute_progress_bars=True) as rester:
        yield rester


def ids(docs) -> set[str]:
    return {str(d.material_id) for d in docs}


def test_every_route_the_client_knows_speaks_the_protocol(endpoint):
    routes = client_routes()
    assert {"materials/phonon", "materials/tasks", "materials/electronic_structure/dos", "doi",
            "materials/core/blessed_tasks", "molecules/summary"} <= set(routes)
    for route in routes:
        r = httpx.get(f"{endpoint}{route}/", params={"_limit": 1})
        assert r.status_code == 200, route
        assert set(r.json()) == {"data", "meta"} and r.json()["meta"]["total_doc"] >= 0, route


def test_route_models_are_the_resters_document_models_imported_on_first_use():
    """Routes are read from the client's source; a model is the rester's own ``document_model``, and
    importing the snapshot server imports no rester (emmet's similarity model alone costs ~20 s)."""
    from emmet.core.summary import SummaryDoc
    from emmet.core.thermo import ThermoDoc
    from mp_api.client.routes.materials.electronic_structure import DosRester

    assert route_model("materials/summary") is SummaryDoc and route_model("/materials/thermo/") is ThermoDoc
    assert route_model("materials/electronic_structure/dos") is DosRester.document_model
    assert route_model("materials/no_such_route") is None
    probe = ("import sys, agents.mp.server; "
             "print(sorted(m for m in sys.modules if m.startswith('mp_api.client.routes.materials.')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_helpers_on_routes_without_data_say_no_data(mpr):
    assert mpr.materials.bonds.search(material_ids=["mp-149"]) == []
    assert mpr.materials.provenance.search(material_ids=["mp-149"]) == []
    assert mpr.get_task_ids_associated_with_material_id("mp-149") == []  # calc_types is {}, not null
    assert mpr.get_structures("Si", final=False) == []  # initial_structures is [], not null
    [core] = mpr.materials.search(material_ids=["mp-149"], fields=["task_ids", "calc_types"])
    assert (core.task_ids, core.calc_types) == ([], {})


def test_false_does_not_match_unknown(mpr, sample):
    not_metal = mpr.materials.summary.search(is_metal=False, fields=["material_id"])
    assert ids(not_metal) == {m for m, r in sample.items() if r["is_metal"] is False}
    assert UNKNOWN_METAL not in ids(not_metal)
    unstable = mpr.materials.summary.search(is_stable=False, fields=["material_id"])
    assert UNKNOWN_METAL not in ids(unstable) and len(unstable) > 0
    # deprecated is served as false when unset, so deprecated=False finds every material
    assert mpr.materials.summary.count({"deprecated": False}) == len(sample) + 1 + len(LI_MG)


def test_chemsys_wildcard(mpr, sample):
    docs = mpr.materials.summary.search(chemsys="Li-*-O", fields=["material_id"])
    expected = {m for m, r in sample.items() if r["nelements"] == 3 and {"Li", "O"} <= set(r["elements"])}
    assert ids(docs) == expected and expected
    both = mpr.materials.summary.search(chemsys=["Li-*-O", "Si"], fields=["material_id"])
    assert ids(both) == expected | {m for m, r in sample.items() if r["chemsys"] == "Si"} | {UNKNOWN_METAL}


def test_formula_wildcard(mpr, sample):
    def fits(formula: str) -> bool:  # X2O3 for one element X other than O
        comp = Composition(formula).reduced_composition
        amounts = comp.get_el_amt_dict()
        return len(amounts) == 2 and amounts.get("O") == 3 and sorted(amounts.values()) == [2, 3]

    docs = mpr.materials.summary.search(formula="*2O3", fields=["material_id"])
    expected = {m for m, r in sample.items() if fits(r["formula_pretty"])}
    assert ids(docs) == expected and len(expected) >= 2  # Fe2O3, Al2O3
    li_x_o2 = mpr.materials.summary.search(formula="Li*O2", fields=["material_id"])
    assert ids(li_x_o2) == {m for m, r in sample.items() if r["formula_pretty"] == "LiCoO2"}


def test_mixing_device_is_case_sensitive_and_atmospheres_are_lists(mpr, sample_recipes):
    zirconia = mpr.materials.synthesis.search(condition_mixing_device=["zirconia"])
    assert {d.doi for d in zirconia} == {r["doi"] for r in sample_recipes if "device=zirconia" in r["text"]}
    assert mpr.materials.synthesis.search(condition_mixing_device=["Zirconia"]) == []
    argon = mpr.materials.synthesis.search(condition_heating_atmosphere=["argon"])
    assert argon and all(
        isinstance(op.conditions.heating_atmosphere, list) for d in argon for op in d.operations
    )
    assert all(any("argon" in op.conditions.heating_atmosphere for op in d.operations) for d in argon)


def test_keyword_search_highlights_the_keyword(mpr):
    [doc, *_] = mpr.materials.synthesis.search(keywords=["argon"])
    hits = [t.value for h in doc.highlights for t in h.texts if t.type == "hit"]
    assert hits and {h.lower() for h in hits} == {"argon"}
    assert {h.path for h in doc.highlights} <= {"paragraph_string", "text"}


def test_unknown_sort_field_is_refused(endpoint, mpr):
    r = httpx.get(endpoint + "materials/summary/", params={"_sort_fields": "colour"})
    assert r.status_code == 400 and "no such field" in r.json()["detail"]
    r = httpx.get(endpoint + "materials/thermo/", params={"_sort_fields": "-energy_above_hull"})
    assert r.status_code == 200
    r = httpx.get(endpoint + "materials/xas/", params={"_sort_fields": "colour"})  # no data, same rule
    assert r.status_code == 400
    with pytest.raises(MPRestError, match="does not support the request"):
        mpr.materials.xas.search(_page=1, _sort_fields="colour", chunk_size=5, num_chunks=1)


def test_thermo_types(mpr, endpoint, sample):
    gga = mpr.materials.thermo.search(thermo_types=["GGA_GGA+U"], fields=["material_id", "thermo_type"])
    assert {d.thermo_type.value for d in gga} == {"GGA_GGA+U"} and len(gga) > len(sample) // 2
    assert mpr.materials.thermo.search(thermo_types=["R2SCAN"], fields=["material_id"]) == []
    assert mpr.materials.thermo.search(thermo_types=["GGA_GGA+U_R2SCAN"], fields=["material_id"]) == []
    r = httpx.get(endpoint + "materials/thermo/", params={"thermo_types": "PBE_MAGIC"})
    assert r.status_code == 400 and "invalid thermo_types ['PBE_MAGIC']" in r.json()["detail"]


def test_thermo_documents_carry_entries(mpr):
    [doc] = mpr.materials.thermo.search(material_ids=["mp-9004"])
    assert list(doc.entries) == ["GGA"] and doc.entry_types == ["GGA"]
    formation = LI_MG["mp-9004"][3]
    assert doc.formation_energy_per_atom == pytest.approx(formation)
    assert doc.energy_above_hull == pytest.approx(0.03)  # 0.25 of the way from LiMg (-0.1) to Mg (0)
    assert {int(AlphaID(str(d.material_id))) for d in doc.decomposes_to} == {9003, 9002}


def test_get_entries_and_entry_by_material_id(mpr, sample):
    [entry] = mpr.get_entries("mp-9003")
    li, mg = LI_MG["mp-9001"][3], LI_MG["mp-9002"][3]
    assert entry.energy_per_atom == pytest.approx((li + mg) / 2 + LI_MG["mp-9003"][3])
    assert entry.composition.reduced_formula == "LiMg"
    [again] = mpr.get_entry_by_material_id("mp-9003")
    assert again.energy == pytest.approx(entry.energy)
    assert {e.data["material_id"] for e in mpr.get_entries("Li-Mg")} == {"mp-9003", "mp-9004"}
    assert mpr.get_entries("mp-149") == []  # thermo without entries: no data, no crash


def test_get_entries_in_chemsys(mpr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entries = mpr.get_entries_in_chemsys(
            ["Li", "Mg"], additional_criteria={"thermo_types": ["GGA_GGA+U"]}
        )
    assert sorted(e.data["material_id"] for e in entries) == sorted(LI_MG)


def test_entries_keep_a_materials_own_values(tmp_path, sample):
    snap = sample_snapshot(tmp_path / "mp.sqlite")
    li = {"material_id": "mp-9001", "formula_pretty": "Li", "chemsys": "Li", "elements": ["Li"],
          "nelements": 1, "formation_energy_per_atom": 0.5}
    snap.upsert_materials([MaterialRecord(**li)])
    assert snap.import_entries(write_li_mg_entries(tmp_path / "e.json"), progress=False) == len(LI_MG)
    with snap.connect(readonly=True) as conn:
        [(doc,)] = conn.execute("SELECT doc FROM materials WHERE material_id = 'mp-9001'")
    doc = json.loads(doc)
    assert doc["formation_energy_per_atom"] == 0.5  # the snapshot's value stays
    assert doc["energy_above_hull"] == 0 and list(doc["entries"]) == ["GGA"]  # missing ones filled
    assert snap.info().entries == len(LI_MG)


def test_bad_entries_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "entries.json"
    bad.write_text(json.dumps([{"energy": -1.0}]))
    with pytest.raises(InvalidInput, match="entry 0 is not a ComputedStructureEntry"):
        sample_snapshot(tmp_path / "mp.sqlite").import_entries(bad, progress=False)
