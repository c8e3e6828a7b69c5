"""The linker reads materials, properties, polymorphs and intents from questions without any I/O."""

import pytest

from agents.linker import link, spacegroup_number


def materials(question: str) -> list[tuple]:
    return [(m.kind, m.material_id or m.formula or m.chemsys, m.spacegroup) for m in link(question).materials]


@pytest.mark.parametrize(("question", "formula"), [
    ("What is the band gap of GaN?", "GaN"),
    ("What is the band gap of NGa?", "GaN"),  # any order pymatgen parses
    ("Band gap of Li(FePO4)?", "LiFePO4"),
    ("What is the formation energy of Fe2O3?", "Fe2O3"),
    ("What's the band gap of silicon?", "Si"),  # element name
    ("How dense is aluminium?", "Al"),
    ("What is the band gap of Li2O", "Li2O"),
])
def test_formulas_in_any_spelling_and_element_names(question, formula):
    assert [m[1] for m in materials(question)] == [formula]


@pytest.mark.parametrize(("question", "expected"), [
    ("What is the density of rock salt?", ("common_name", "NaCl", 225)),
    ("Band gap of corundum?", ("common_name", "Al2O3", 167)),
    ("What is the band gap of anatase?", ("common_name", "TiO2", 141)),
    ("What is the band gap of diamond?", ("common_name", "C", 227)),
    ("Band gap of wurtzite GaN?", ("formula", "GaN", 186)),  # a structure type qualifies the formula
    ("Band gap of GaN in the zinc blende structure?", ("formula", "GaN", 216)),
    ("What is the band gap of NiF2 in P4_2/mnm?", ("formula", "NiF2", 136)),
    ("What is the band gap of GaN in P63mc?", ("formula", "GaN", 186)),  # compact symbol
    ("Shear modulus of SiO2 in space group 154?", ("formula", "SiO2", 154)),
    ("What is the band gap of mp-804?", ("mp_id", "mp-804", None)),
])
def test_names_ids_and_polymorphs(question, expected):
    assert materials(question) == [expected]


def test_english_words_and_symbols_are_not_materials():
    assert materials("Which is it? I ask as a DFT user of MP.") == []
    assert link("What is the band gap of GaN?").properties == ["band_gap"]  # "What", "is" are no formulas


@pytest.mark.parametrize(("question", "intent", "properties"), [
    ("What is the band gap of GaN?", "lookup", ["band_gap"]),
    ("Tell me about LiFePO4.", "lookup", ["band_gap", "formation_energy_per_atom", "energy_above_hull", "density",
                                         "space_group"]),
    ("Which has the larger band gap, GaN or ZnO?", "compare", ["band_gap"]),
    ("Stable Li-Fe-O compounds with a band gap above 2 eV", "range", ["band_gap"]),
    ("How is LiFePO4 synthesised?", "synthesis", ["synthesis"]),
    ("Insert a Li atom into Si and compute the volumetric strain.", "strain", []),
    ("How do I install matlas?", "none", []),
])
def test_intents(question, intent, properties):
    linked = link(question)
    assert (linked.intent, linked.properties) == (intent, properties)


def test_range_bounds_and_comparison_direction():
    linked = link("Stable Li-Fe-O compounds with a band gap above 2 eV")
    assert linked.stable_only and [(t.property, t.low, t.high) for t in linked.thresholds] == [("band_gap", 2.0, None)]
    assert materials("Stable Li-Fe-O compounds with a band gap above 2 eV") == [("chemsys", "Fe-Li-O", None)]
    between = link("Which Ti-O materials have a bulk modulus between 100 and 200 GPa?").thresholds
    assert [(t.property, t.low, t.high) for t in between] == [("bulk_modulus", 100.0, 200.0)]
    assert link("Which has the smaller band gap, GaN or ZnO?").direction == "lower"


def test_a_formula_and_its_id_in_parentheses_are_both_kept():
    # the id wins at lookup time: the linker reports both mentions, the facts step asks MP once per mention
    assert ("mp_id", "mp-19770", None) in materials("Formation energy of Fe2O3 (mp-19770)?")


def test_spacegroup_symbols():
    assert (spacegroup_number("P4_2/mnm"), spacegroup_number("Fd-3m"), spacegroup_number("P6₃mc")) == (136, 227, 186)
    assert spacegroup_number("GaN") is None and spacegroup_number("X") is None
