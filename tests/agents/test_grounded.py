"""Grounded turns end to end: linker -> typed tools -> real mp-api client -> loopback MP server -> snapshot.

The scripted models only write drafts (one invents numbers, one copies what it is given); every value
asserted here is read from the sample snapshot's source file, never from the script's text.
"""

from __future__ import annotations

import json
import re

import pytest
from langchain_core.messages import SystemMessage
from pymatgen.core import Element, Structure

from agents.chat import ChatTurn
from agents.grounding import states_value
from matlas.wiring import chat_agent
from tests._support.mp import MP_SAMPLE
from tests._support.scripted_chat import ScriptedChatModel

SAMPLE = {d["material_id"]: d for d in map(json.loads, (MP_SAMPLE / "materials.jsonl").read_text().splitlines())}
RECIPES = [json.loads(line) for line in (MP_SAMPLE / "synthesis.jsonl").read_text().splitlines()]


def invent(messages) -> str:
    return "The band gap is about 3.4 eV."


def copy_facts(messages) -> str:
    """A draft stating each fact it was given, as a careful model would."""
    facts = next(m.content for m in messages if isinstance(m, SystemMessage)).split("Materials Project:\n", 1)[1]
    found = [re.match(r"- (.+?) of (\S+) \[(.+?)\]: ([^(]+)", line) for line in facts.splitlines()]
    return " ".join(f"The {m[1]} of {m[2]} is {m[4].strip()} [{m[3]}]." for m in found if m)


def turn(settings, question, steps, history=()):
    model = ScriptedChatModel(steps=steps)
    events = list(chat_agent(settings, llm=model).stream(list(history), question))
    assert events[-1].event == "answer", events[-1]
    return events, events[-1].data, model


def ground_state(formula: str) -> dict:
    """The snapshot's lowest-energy polymorph of ``formula`` (computed here from the source file)."""
    return min((r for r in SAMPLE.values() if r["formula_pretty"] == formula), key=lambda r: r["energy_above_hull"])


def test_facts_come_first_as_tool_steps_and_a_faithful_draft_is_kept(mp_settings):
    events, answer, model = turn(mp_settings, "What is the band gap of GaN?", [copy_facts])
    kinds = [e.event for e in events]
    assert kinds == ["tool_call", "tool_result", "token", "answer"] and events[0].data["expert"] == "linker"
    assert events[0].data == {"expert": "linker", "tool": "get_band_structure_summary",
                              "args": {"formula": ["GaN"]}}
    gan = SAMPLE["mp-804"]
    assert states_value(answer["content"], gan["band_gap"]) and answer["citations"] == ["mp-804"]
    assert not answer["composed"] and not answer["repaired"] and answer["ungrounded"] == []
    fact = answer["facts"][0]
    assert (fact["material_id"], fact["value"], fact["unit"], fact["endpoint"]) == (
        "mp-804", gan["band_gap"], "eV", "materials/electronic_structure")
    assert len(model.calls) == 1


def state_values(messages) -> str:
    """A draft stating each fact's value and unit but no MP id, as SmolLM2 writes them."""
    facts = next(m.content for m in messages if isinstance(m, SystemMessage)).split("Materials Project:\n", 1)[1]
    found = [re.match(r"- (.+?) of (\S+) \[.+?\]: ([^(]+)", line) for line in facts.splitlines()]
    return " ".join(f"The {m[1]} of {m[2]} is {m[3].strip()}." for m in found if m)


def test_a_draft_that_only_leaves_out_the_id_gets_it_after_its_value_without_a_repair_round(mp_settings):
    events, answer, model = turn(mp_settings, "What is the band gap of GaN?", [state_values])
    gan = SAMPLE["mp-804"]
    assert "repair" not in [e.event for e in events] and len(model.calls) == 1
    assert answer["content"] == (f"The band gap of GaN is {gan['band_gap']:g} eV [mp-804]. "
                                 "(GaN [mp-804]: P6_3mc, the only GaN entry in MP.)")  # which polymorph, too
    assert answer["ids_added"] and not answer["repaired"] and not answer["composed"]
    assert answer["citations"] == ["mp-804"] and answer["ungrounded"] == []


def test_without_drafts_settled_questions_are_composed_without_a_generation(mp_settings):
    model = ScriptedChatModel(steps=[])
    settings = mp_settings.model_copy(update={"llm_draft": False})
    events = list(chat_agent(settings, llm=model).stream([], "What is the band gap of GaN?"))
    answer = events[-1].data
    assert [e.event for e in events] == ["tool_call", "tool_result", "token", "answer"] and model.calls == []
    assert answer["composed"] and not answer["repaired"] and answer["citations"] == ["mp-804"]
    assert states_value(answer["content"], SAMPLE["mp-804"]["band_gap"]) and answer["ungrounded"] == []


def test_ids_are_not_added_to_a_draft_with_an_invented_number(mp_settings):
    wrong = f"The band gap of GaN is {SAMPLE['mp-804']['band_gap']:g} eV, ZnO is 9.87 eV."
    events, answer, model = turn(mp_settings, "What is the band gap of GaN?", [wrong, wrong])
    assert [e.event for e in events].count("repair") == 1 and len(model.calls) == 2
    assert answer["composed"] and not answer["ids_added"] and "9.87" not in answer["content"]


def test_an_invented_number_gets_one_repair_round_then_a_composed_answer(mp_settings):
    events, answer, model = turn(mp_settings, "What is the band gap of GaN?", [invent, invent])
    repair = next(e for e in events if e.event == "repair")
    assert "3.4 eV" in repair.data["problems"][0]  # the offending number is named to the model
    assert "3.4 eV" in model.calls[1][-1].content
    assert answer["repaired"] and answer["composed"] and len(model.calls) == 2
    assert "3.4" not in answer["content"] and answer["ungrounded"] == []
    assert states_value(answer["content"], SAMPLE["mp-804"]["band_gap"]) and answer["citations"] == ["mp-804"]
    assert "P6_3mc" in answer["content"] and "materials/electronic_structure" in answer["content"]


def test_formula_resolves_to_the_ground_state_and_says_how_many_others_exist(mp_settings):
    _, answer, _ = turn(mp_settings, "What is the band gap of TiO2?", [invent, invent])
    expected = ground_state("TiO2")
    others = sum(r["formula_pretty"] == "TiO2" for r in SAMPLE.values()) - 1
    assert answer["citations"] == [expected["material_id"]] and states_value(answer["content"], expected["band_gap"])
    assert f"{others} other polymorph" in answer["content"] and "ground state" in answer["content"]


@pytest.mark.parametrize("question", ["What is the band gap of anatase?", "Band gap of TiO2 in I4_1/amd?",
                                      "What is the band gap of mp-390?"])
def test_a_named_polymorph_is_used_instead_of_the_ground_state(mp_settings, question):
    _, answer, _ = turn(mp_settings, question, [invent, invent])
    assert answer["citations"] == ["mp-390"] and states_value(answer["content"], SAMPLE["mp-390"]["band_gap"])


def test_unknown_material_is_not_in_mp_and_a_missing_polymorph_lists_the_alternatives(mp_settings):
    _, answer, _ = turn(mp_settings, "What is the band gap of Li7Xe3?", [invent, invent])
    assert "not in Materials Project" in answer["content"] and answer["citations"] == []
    assert answer["ungrounded"] == []
    _, answer, _ = turn(mp_settings, "What is the band gap of TiO2 in Fm-3m?", [invent, invent])
    polymorphs = {m for m, r in SAMPLE.items() if r["formula_pretty"] == "TiO2"}
    assert "no TiO2 in space group 225" in answer["content"]
    assert set(re.findall(r"mp-\d+", answer["content"])) == polymorphs and answer["ungrounded"] == []


def test_comparison_names_the_winner_with_both_values(mp_settings):
    _, answer, _ = turn(mp_settings, "Which has the larger band gap, GaN or ZnO?", [invent, invent])
    gan, zno = SAMPLE["mp-804"], SAMPLE["mp-2133"]
    winner = max((gan, zno), key=lambda r: r["band_gap"])
    assert f"{winner['formula_pretty']} [{winner['material_id']}] has the larger band gap" in answer["content"]
    assert states_value(answer["content"], gan["band_gap"]) and states_value(answer["content"], zno["band_gap"])
    assert set(answer["citations"]) == {"mp-804", "mp-2133"} and answer["ungrounded"] == []


def test_range_question_lists_exactly_the_matching_materials(mp_settings):
    _, answer, _ = turn(mp_settings, "Which stable Ti-O compounds have a band gap above 1 eV?", [invent, invent])
    expected = {m for m, r in SAMPLE.items() if r["chemsys"] == "O-Ti" and r["is_stable"] and r["band_gap"] > 1}
    assert expected and set(re.findall(r"mp-\d+", answer["content"])) == expected
    assert answer["ungrounded"] == []


def test_synthesis_question_cites_the_recipes(mp_settings):
    _, answer, _ = turn(mp_settings, "How is LiFePO4 synthesised?", [invent, invent])
    recipes = {r["recipe_id"]: r for r in RECIPES if r["target_formula"] == "LiFePO4"}
    cited = [c for c in answer["citations"] if c in recipes]
    assert cited and all(p in answer["content"] for p in recipes[cited[0]]["precursors_formula"])
    assert answer["ungrounded"] == []


def test_llamp_li_in_si_strain_question(mp_settings):
    _, answer, _ = turn(mp_settings, "Insert a Li atom into Si and compute the volumetric strain.", [invent, invent])
    si = Structure.from_dict(SAMPLE["mp-149"]["structure"])
    li = Element("Li").molar_volume * 1e24 / 6.02214076e23  # Å³ per atom (molar volume in cm³/mol)
    assert states_value(answer["content"], (si.volume + li) / si.volume - 1)
    assert "mp-149" in answer["citations"] and "Not relaxed" in answer["content"]


def test_numbers_from_earlier_turns_stay_citable(mp_settings):
    _, first, _ = turn(mp_settings, "What is the band gap of GaN?", [copy_facts])
    history = [ChatTurn(role="user", content="What is the band gap of GaN?"),
               ChatTurn(role="assistant", content=first["content"], steps=first["steps"])]
    gap = SAMPLE["mp-804"]["band_gap"]
    # a question the linker does not cover: the supervisor answers, restating the earlier value
    _, answer, _ = turn(mp_settings, "Thanks! Summarize what you told me.", [f"As I said, it is {gap} eV [mp-804]."],
                        history)
    assert answer["ungrounded"] == [] and answer["citations"] == ["mp-804"]
