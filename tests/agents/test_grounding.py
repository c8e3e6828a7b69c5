import json

import pytest

from agents.grounding import check_grounding

SUMMARY = json.dumps({
    "results": [
        {"material_id": "mp-149", "formula_pretty": "Si", "band_gap": 1.1234, "density": 2.28085,
         "symmetry": {"symbol": "Fd-3m", "number": 227}, "bulk_modulus": {"vrh": 83.0112836733}},
        {"material_id": "mp-804", "formula_pretty": "GaN", "band_gap": 1.73, "formation_energy_per_atom": -0.651},
    ],
    "returned": 2, "truncated": False,
})
DOCS = {"index": "materials", "results": [{"id": "4983", "title": "Silicon", "score": 0.8123},
                                          {"id": "doc-7", "title": "GaN LEDs", "score": 0.5}]}
RECIPE = '{"results":[{"recipe_id":"sample-00001","operations":[{"temperature":["700 C"],"time":["10 h"]}]}]}'
STRAIN = {"volumetric_strain": 0.132131, "volume": 185.108}
OUTPUTS = [SUMMARY, DOCS, RECIPE, STRAIN]


def ungrounded(answer: str, outputs=OUTPUTS) -> list[str]:
    return check_grounding(answer, outputs).ungrounded


@pytest.mark.parametrize("answer", [
    "Si has a band gap of 1.12 eV.",  # rounded to 2 decimals
    "Si has a band gap of 1.1 eV.",  # rounded to 1 decimal
    "Si has a band gap of 1.1234 eV.",  # as returned
    "K_VRH of Si is 83 GPa.",  # integer rounding of 83.0113
    "K_VRH of Si is 83.01 GPa.",
    "GaN: formation energy -0.651 eV/atom.",  # sign written, magnitude compared
    "GaN: formation energy −0.65 eV/atom.",  # unicode minus
    "Calcined at 700 °C for 10 h.",  # numbers inside tool strings
    "The volumetric strain is 13.2%.",  # a percentage of a fraction
    "The volumetric strain is 0.13.",
    "Its density is 2.28 g/cm³ and volume 185.1 Å³.",
    "Space group 227.",
])
def test_numbers_that_round_tool_values_are_grounded(answer):
    report = check_grounding(answer, OUTPUTS)
    assert report.grounded and report.ungrounded == [] and report.checked >= 1


@pytest.mark.parametrize("answer,flagged", [
    ("Si has a band gap of 3.4 eV.", ["3.4 eV"]),
    ("Si has a band gap of 1.13 eV.", ["1.13 eV"]),  # 1.1234 rounds to 1.12, not 1.13
    ("Si has a band gap of 1.12345 eV.", ["1.12345 eV"]),  # more digits than any tool gave
    ("K_VRH is 84 GPa.", ["84 GPa"]),
    ("Strain of 14%.", ["14%"]),
    ("Heated at 1200 K.", ["1200 K"]),  # units attach without a space too
    ("Heated at 1200K for 12h.", ["1200K", "12h"]),
    ("Conductivity 1.2e-5 S/cm.", ["1.2e-5"]),
    ("Conductivity 1.2 × 10^-5 S/cm or 3×10⁻⁴.", ["1.2 × 10^-5", "3×10⁻⁴"]),
    ("Price 1,200 USD.", ["1,200"]),
])
def test_numbers_no_tool_returned_are_flagged_as_written(answer, flagged):
    report = check_grounding(answer, OUTPUTS)
    assert not report.grounded
    assert report.ungrounded == flagged


def test_scientific_notation_is_compared_by_value():
    outputs = [{"sigma": 1.23e-5}, "kappa 4e-4"]
    assert ungrounded("sigma = 1.2e-5, 1.23 × 10^-5 and 1.2×10⁻⁵ S/cm; kappa 4 × 10^-4", outputs) == []
    assert ungrounded("sigma = 1.3e-5", outputs) == ["1.3e-5"]


@pytest.mark.parametrize("answer", [
    "Fe2O3 and LiFePO4 and Li(PO4)2 are oxides.",  # formula subscripts
    "See mp-19017, mvc-12 and doc-42.",  # ids
    "Space groups Fd-3m, P6_3mc, P2_1/c, I4/mmm and R-3c.",
    "Reaction: 2FePO4 + Li2CO3.",  # a coefficient glued to a formula
    "1. first\n2) second\n  3. third",  # list markers
    "Reported in 2019 (Kononova et al.).",  # a bare year
    "There are 2 phases and 8 sites.",  # bare small counts
    "DOI 10.1016/j.jpowsour.2019.05.123 and https://materialsproject.org/materials/mp-12345",
    "Stored as artifact://structure/0a1b2c3d4e5f.",
    "Cited [4983] and [doc-7; mp-149].",
])
def test_identifiers_formulas_markers_are_not_claims(answer):
    report = check_grounding(answer, OUTPUTS)
    assert report.ungrounded == [] and report.checked == 0


def test_small_counts_and_years_are_checked_with_a_unit_or_decimals():
    assert ungrounded("7 eV and 2019 K and 3.0 GPa") == ["7 eV", "2019 K", "3.0 GPa"]


def test_bracketed_decimals_are_numbers_not_citations():
    assert ungrounded("range [1.1, 9.9] eV") == ["9.9"]


def test_citations_and_unknown_ids():
    answer = "Si (mp-149) [4983] and GaN [doc-7] beat mp-99999 [mp-804; doc-8]; see 4983 again."
    report = check_grounding(answer, OUTPUTS)
    assert report.citations == ["mp-149", "4983", "doc-7", "mp-804"]  # in order of appearance
    assert report.unknown_ids == ["mp-99999", "doc-8"]


def test_all_digit_document_ids_count_only_when_bracketed():
    report = check_grounding("A band gap of 4983 meV.", OUTPUTS)
    assert report.citations == [] and report.ungrounded == []  # 4983 is a number a tool returned


def test_recipe_ids_and_ids_in_plain_text_outputs():
    report = check_grounding("Recipe sample-00001 for mp-13.", [RECIPE, "Fe is mp-13 (bcc)"])
    assert report.citations == ["sample-00001", "mp-13"] and report.unknown_ids == []


def test_no_tool_outputs_flags_every_claim():
    report = check_grounding("Si has a band gap of 1.12 eV (mp-149).", [])
    assert report.ungrounded == ["1.12 eV"] and report.unknown_ids == ["mp-149"] and report.citations == []


def test_answer_without_numbers_is_grounded():
    report = check_grounding("Silicon crystallizes in the diamond structure.", OUTPUTS)
    assert report.grounded and report.checked == 0


def test_error_observations_and_non_json_text_are_read():
    outputs = ["search_materials: no material matches formula=[Fe7Si3]", "Error: limit must be <= 50"]
    assert ungrounded("The limit is 50.", outputs) == []
    assert check_grounding("No Fe7Si3 entry.", outputs).checked == 0
