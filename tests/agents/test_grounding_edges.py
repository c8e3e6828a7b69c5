"""Edge cases of the grounding check, each with the expected outcome reasoned from the rules in
``agents/grounding.py``: which numbers are claims, which are parts of identifiers or formulas, how
rounding and percentages are matched, how citations and list markers are masked."""

import pytest

from agents.grounding import check_grounding

TOOL = [{"material_id": "mp-149", "v": 0.125, "w": 1.15, "p": 1.3e-5}, {"id": "4983", "title": "Silicon"}]


def ungrounded(answer: str, outputs=TOOL) -> list[str]:
    return check_grounding(answer, outputs).ungrounded


@pytest.mark.parametrize(("answer", "expected"), [
    ("We list 10 items.", []),  # small counts are not claims
    ("We list 11 items.", ["11"]),
    ("In 1899 it was found.", ["1899"]),
    ("In 1900 it was found.", []),  # years are not claims
    ("In 2100 maybe.", []),
    ("In 2101 maybe.", ["2101"]),
])
def test_which_bare_integers_are_claims(answer, expected):
    assert ungrounded(answer) == expected


@pytest.mark.parametrize(("answer", "expected"), [
    ("Use x_15 and x^17 and (a)17.", []),  # subscripts, powers, labels
    ("Use Ti-64 alloy.", []),  # an alloy name
    ("Use Ti−64 alloy.", []),  # the same with a unicode minus
    ("a-15 eV", []),  # a name at the very start of the answer
    ("Mix 12Fe2O3 with water.", []),  # a coefficient of a formula
    ("A 12Xq3 thing.", ["12"]),  # Xq is not an element: a claim
    ("Use x_15 and 20.5 eV.", ["20.5 eV"]),  # a skipped token does not end the scan
    ("It is -12.5 eV.", ["12.5 eV"]),  # the sign is not part of the reported text
    ("Value 10^-5 Pa.", []),  # 1.3e-5 rounds to 10^-5 (half a decade: one significant digit)
    ("Value 10^-7 Pa.", ["10^-7 Pa"]),
    ("Value -10^5 Pa.", ["10^5 Pa"]),
    ("So (a)-10^15 Pa.", ["10^15 Pa"]),
])
def test_tokens_and_signs(answer, expected):
    assert ungrounded(answer) == expected


@pytest.mark.parametrize(("answer", "expected"), [
    ("The fraction is 13%.", []),  # 0.125 -> 12.5 % rounds to 13 % (half-way, inclusive)
    ("The fraction is 14%.", ["14%"]),
    ("It is 1.1 or 1.2.", []),  # 1.15 sits exactly half-way between both roundings
    ("It is 1.0.", ["1.0"]),
])
def test_rounding_boundaries(answer, expected):
    assert ungrounded(answer) == expected


def test_citations_urls_and_list_markers_are_masked():
    assert ungrounded("Silicon [4983] has it.") == []
    assert ungrounded("See http://x.org/a12.5 and doi 10.1234/abc.5678 here.") == []
    assert ungrounded("1. First 7.5 eV\n2. Second") == ["7.5 eV"]
    assert ungrounded("Si [mp-149]15.5 eV") == ["15.5 eV"]


def test_nested_tool_outputs_are_read():
    assert ungrounded("Gap 1.73 eV.", [[{"results": [{"band_gap": 1.73}]}]]) == []
    assert ungrounded("Gap 1.83 eV.", [[{"results": [{"band_gap": 1.73}]}]]) == ["1.83 eV"]
