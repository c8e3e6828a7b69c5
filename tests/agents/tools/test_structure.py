import json
import math

import pytest
from pymatgen.core import Composition, Element, Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from agents.tools.structure import largest_void


def atomic_volume(symbol: str) -> float:
    """Elemental volume per atom (Å³) from pymatgen's molar volume."""
    return float(Element(symbol).molar_volume) * 1e24 / 6.02214076e23


@pytest.fixture(scope="module")
def si(sample) -> Structure:
    return Structure.from_dict(sample["mp-149"]["structure"])


def test_get_structure_puts_the_mp_structure_behind_a_handle(call, artifacts, sample, si):
    out = call("get_structure", material_id="mp-149")
    assert artifacts.get_structure(out["handle"]) == si
    assert out["material_id"] == "mp-149" and out["formula"] == "Si" and out["nsites"] == len(si)
    assert out["spacegroup"] == sample["mp-149"]["symmetry"]["symbol"]
    assert out["lattice_abc"] == pytest.approx(si.lattice.abc, rel=1e-5)
    assert "\"sites\"" not in json.dumps(out) and len(json.dumps(out)) < 400  # no structure in the context
    assert call("get_structure", material_id="mp-149")["handle"] == out["handle"]


def test_lattice_parameters_match_pymatgen(call, si):
    out = call("lattice_parameters", structure="mp-149")
    assert [out[k] for k in ("a", "b", "c")] == pytest.approx(si.lattice.abc, rel=1e-5)
    assert [out[k] for k in ("alpha", "beta", "gamma")] == pytest.approx(si.lattice.angles, rel=1e-5)
    assert out["volume"] == pytest.approx(si.volume, rel=1e-5)
    assert out["volume_per_atom"] == pytest.approx(si.volume / len(si), rel=1e-5)
    assert out["density"] == pytest.approx(float(si.density), rel=1e-5)


def test_symmetry_matches_spacegroup_analyzer(call, si, sample):
    out = call("get_symmetry", structure="mp-149")
    sga = SpacegroupAnalyzer(si, symprec=0.1)
    assert (out["spacegroup_symbol"], out["spacegroup_number"], out["crystal_system"]) == (
        sga.get_space_group_symbol(), sga.get_space_group_number(), sga.get_crystal_system())
    assert out["spacegroup_number"] == sample["mp-149"]["symmetry"]["number"]


def test_li_into_si_fixed_lattice(call, artifacts, si):
    handle = call("get_structure", material_id="mp-149")["handle"]
    out = call("insert_interstitial", structure=handle, species="Li", volume_model="fixed_lattice")
    new = artifacts.get_structure(out["handle"])
    assert new.composition == si.composition + Composition("Li") and out["formula"] == new.composition.reduced_formula
    assert new[-1].specie.symbol == "Li" and out["inserted"]["site"] == len(si)
    assert out["volume"] == pytest.approx(si.volume, rel=1e-5) and out["volumetric_strain"] == 0
    assert out["density"] == pytest.approx(float(new.density), rel=1e-5) and out["density"] > float(si.density)
    # diamond's largest void is the tetrahedral site, one Si-Si bond length from its four neighbours
    bond = min(n.nn_distance for n in si.get_neighbors(si[0], 3.0))
    assert out["inserted"]["nearest_atom_distance"] == pytest.approx(bond, rel=1e-4)
    assert out["relaxed"] is False and "Not relaxed" in out["note"]
    assert artifacts.meta(out["handle"])["parent"] == handle


def test_li_into_si_atomic_volumes_expands_the_cell(call, si):
    out = call("insert_interstitial", structure="mp-149", species="Li")
    assert out["volume"] == pytest.approx(si.volume + atomic_volume("Li"), rel=1e-5)
    assert out["volumetric_strain"] == pytest.approx(atomic_volume("Li") / si.volume, rel=1e-5)
    assert out["volumetric_strain"] > 0 and out["density"] < float(si.density)


def test_insertion_at_given_coordinates_and_too_close(call, si):
    out = call("insert_interstitial", structure="mp-149", species="Li", frac_coords=[0.5, 0.5, 0.5],
               volume_model="fixed_lattice")
    assert out["inserted"]["frac_coords"] == [0.5, 0.5, 0.5] and out["inserted"]["placed_at"] == "given position"
    on_atom = si.frac_coords[0].tolist()
    assert "would sit 0.00 Å from an atom" in call("insert_interstitial", structure="mp-149", species="Li",
                                                     frac_coords=on_atom)


def test_substitution_all_or_some_sites(call, artifacts, si):
    out = call("substitute_species", structure="mp-149", old="Si", new="Ge")
    assert artifacts.get_structure(out["handle"]).composition == Composition({"Ge": len(si)})
    expected = len(si) * (atomic_volume("Ge") - atomic_volume("Si")) / si.volume
    assert out["volumetric_strain"] == pytest.approx(expected, rel=1e-5) and expected > 0
    one = call("substitute_species", structure="mp-149", old="Si", new="Ge", sites=[0], volume_model="fixed_lattice")
    assert artifacts.get_structure(one["handle"]).composition == Composition({"Ge": 1, "Si": len(si) - 1})
    assert one["volumetric_strain"] == 0
    assert "sites [99] are not Si sites" in call("substitute_species", structure="mp-149", old="Si", new="Ge",
                                                 sites=[99])
    assert "has no O site" in call("substitute_species", structure="mp-149", old="O", new="S")


def test_supercell_strain_is_per_reference_cell(call, si):
    cell = call("make_supercell", structure="mp-149", scaling=[2, 2, 2])
    assert cell["nsites"] == 8 * len(si) and cell["material_id"] == "mp-149"
    assert call("volumetric_strain", structure=cell["handle"])["volumetric_strain"] == pytest.approx(0, abs=1e-9)
    doped = call("insert_interstitial", structure=cell["handle"], species="Li")
    assert doped["volumetric_strain"] == pytest.approx(atomic_volume("Li") / (8 * si.volume), rel=1e-5)
    strain = call("volumetric_strain", structure=doped["handle"], reference="mp-149")
    assert strain["volumetric_strain"] == pytest.approx(doped["volumetric_strain"], rel=1e-5)


@pytest.mark.parametrize("args,needle", [
    ({"structure": "artifact://structure/0123456789ab"}, "unknown artifact"),
    ({"structure": "silicon"}, "not a Materials Project id"),
    ({"structure": "mp-999999"}, "no material matches material_ids=[mp-999999]"),
])
def test_bad_structure_references(call, args, needle):
    out = call("lattice_parameters", **args)
    assert out.startswith("lattice_parameters: ") and needle in out


def test_bad_supercells(call):
    assert "scaling.0: Input should be greater than or equal to 1" in call("make_supercell", structure="mp-149",
                                                                            scaling=[0, 1, 1])
    assert "exceeds 500 sites" in call("make_supercell", structure="mp-149", scaling=[10, 10, 10])


def test_strain_needs_a_reference_outside_mp(call, artifacts, si):
    handle = artifacts.put_structure(si)  # no MP id in its metadata
    assert "give `reference`" in call("volumetric_strain", structure=handle)
    assert call("volumetric_strain", structure=handle, reference="mp-149")["volumetric_strain"] == pytest.approx(0)


def test_largest_void_of_conventional_diamond():
    a = 5.468
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(a), ["Si"], [[0, 0, 0]])
    coords, clearance = largest_void(si)
    assert clearance == pytest.approx(a * math.sqrt(3) / 4, rel=1e-9)  # tetrahedral site
    nearest = si.lattice.get_all_distances([coords], si.frac_coords).min()
    assert nearest == pytest.approx(clearance)
