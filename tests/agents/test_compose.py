"""``agents.compose.cite``: MP ids added to a draft that states the asked values, and only then."""

from __future__ import annotations

from agents.compose import cite
from agents.facts import Fact, Facts
from agents.linker import link


def _fact(material_id: str, formula: str, key: str, value, unit: str, **extra) -> Fact:
    return Fact(material_id=material_id, formula=formula, property=key, value=value, unit=unit,
                tool="get_properties", endpoint="materials/summary", **extra)


def test_each_id_goes_right_after_its_value_and_unit():
    facts = Facts(linked=link("Which has the larger band gap, GaN or ZnO?"),
                  facts=[_fact("mp-804", "GaN", "band_gap", 1.7349, "eV"), _fact("mp-2133", "ZnO", "band_gap", 0.73, "eV")])
    assert cite("ZnO has 0.73 eV and GaN 1.73 eV, so GaN's is larger.", facts) == (
        "ZnO has 0.73 eV [mp-2133] and GaN 1.73 eV [mp-804], so GaN's is larger.")


def test_an_id_already_cited_is_left_alone_and_text_values_are_found_as_written():
    facts = Facts(linked=link("What is the space group and density of mp-149?"),
                  facts=[_fact("mp-149", "Si", "space_group", "Fd-3m", ""),
                         _fact("mp-149", "Si", "density", 2.28, "g/cm³")])
    assert cite("Si is Fd-3m with a density of 2.28 g/cm³.", facts) == "Si is Fd-3m [mp-149] with a density of 2.28 g/cm³."
    assert cite("Si [mp-149] is Fd-3m, 2.28 g/cm³.", facts) == "Si [mp-149] is Fd-3m, 2.28 g/cm³."


def test_nothing_is_added_when_a_value_is_missing_or_wrong_or_the_answer_is_a_list():
    facts = Facts(linked=link("What is the band gap of GaN?"), facts=[_fact("mp-804", "GaN", "band_gap", 1.7349, "eV")])
    assert cite("The band gap of GaN is about 3.4 eV.", facts) is None
    assert cite("GaN is a semiconductor.", facts) is None
    ranged = Facts(linked=link("Stable Li-Fe-O compounds with a band gap above 2 eV"),
                   facts=[_fact("mp-19017", "LiFeO2", "band_gap", 2.5, "eV", asked=False)],
                   records=[{"material_id": "mp-19017"}])
    assert cite("LiFeO2 has 2.5 eV.", ranged) is None
