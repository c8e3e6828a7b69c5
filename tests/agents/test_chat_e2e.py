"""The whole chain on a scripted model: supervisor -> expert -> tool -> mp-api -> loopback MP server -> snapshot.

The script only decides which calls to make; every number in the answers is read by the script
from what the real chain returned, and checked here against the sample snapshot's source file.
"""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from agents.chat import ChatConfig
from matlas.wiring import chat_agent
from tests._support.mp import MP_SAMPLE
from tests._support.scripted_chat import ScriptedChatModel

SAMPLE = {
    doc["material_id"]: doc for doc in map(json.loads, (MP_SAMPLE / "materials.jsonl").read_text().splitlines())
}
RECIPES = [json.loads(line) for line in (MP_SAMPLE / "synthesis.jsonl").read_text().splitlines()]


def call(name: str, args: dict) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": f"call_{name}_{len(json.dumps(args))}"}])


def tool_data(messages) -> dict:
    """The JSON of the last tool result (for a handoff, the last tool result the expert quoted)."""
    content = next(m for m in reversed(messages) if isinstance(m, ToolMessage)).content
    if "Tool results:\n" in content:
        content = content.split("Tool results:\n", 1)[1].splitlines()[-1]
    return json.loads(content)


def first(messages) -> dict:
    return tool_data(messages)["results"][0]


def ask(settings, steps, question):
    model = ScriptedChatModel(steps=steps)
    # the supervisor path: the linker is off, so the script plans every call
    answer = chat_agent(settings, llm=model, config=ChatConfig(link=False)).ask([], question)
    assert len(model.calls) == len(steps)  # the script ran to its end: every call was made
    return answer, model


@pytest.mark.parametrize(("expert", "tool", "args", "template", "material_id", "value"), [
    ("electronic", "get_band_structure_summary", {"formula": ["GaN"]},
     "The band gap of GaN ({material_id}) is {band_gap} eV.", "mp-804", lambda d: d["band_gap"]),
    ("thermo", "get_thermo", {"formula": ["LiFePO4"]},
     "LiFePO4 ({material_id}) has a formation energy of {formation_energy_per_atom} eV/atom.",
     "mp-19017", lambda d: d["formation_energy_per_atom"]),
    ("elasticity", "get_elasticity", {"material_ids": ["mp-149"]},
     "The bulk modulus (VRH) of Si ({material_id}) is {bulk_modulus[vrh]} GPa.", "mp-149",
     lambda d: d["bulk_modulus"]["vrh"]),
    ("summary", "search_materials", {"formula": ["MgO"]},
     "MgO ({material_id}) has a band gap of {band_gap} eV.", "mp-1265", lambda d: d["band_gap"]),
])
def test_property_questions_return_the_snapshot_values_and_cite_ids(mp_settings, expert, tool, args, template,
                                                                     material_id, value):
    steps = [
        call(f"ask_{expert}_expert", {"task": "look it up"}),
        call(tool, args),
        lambda msgs: template.format(**first(msgs)),
        lambda msgs: template.format(**first(msgs)),
    ]
    answer, _ = ask(mp_settings, steps, "question")
    expected = value(SAMPLE[material_id])
    assert f" {expected} " in answer.content or f" {expected} eV" in answer.content
    assert answer.citations == [material_id] and answer.ungrounded == []


def test_synthesis_question_cites_recipe_and_target(mp_settings):
    steps = [
        call("ask_synthesis_expert", {"task": "how is LiFePO4 made"}),
        call("search_synthesis", {"target_formula": "LiFePO4", "limit": 3}),
        lambda msgs: "Recipe {recipe_id} ({target_mp_id}): {precursors}".format(**first(msgs)),
        lambda msgs: "LiFePO4 ({target_mp_id}) is made from {p} (recipe {recipe_id}, doi {doi}).".format(
            p=", ".join(first(msgs)["precursors"]), **first(msgs)),
    ]
    answer, model = ask(mp_settings, steps, "How is LiFePO4 made?")
    recipes = tool_data(model.calls[2])["results"]
    expected = {r["recipe_id"]: r for r in RECIPES if r["target_formula"] == "LiFePO4"}
    assert recipes and {r["recipe_id"] for r in recipes} <= set(expected)
    top = expected[recipes[0]["recipe_id"]]
    assert all(p in answer.content for p in top["precursors_formula"])
    assert "mp-19017" in answer.citations and top["recipe_id"] in answer.citations


def test_structure_question_uses_artifact_handles_and_pymatgen(mp_settings):
    from pymatgen.core import Structure

    steps = [
        call("ask_structure_expert", {"task": "lattice of Si mp-149"}),
        call("get_structure", {"material_id": "mp-149"}),
        lambda msgs: call("lattice_parameters", {"structure": tool_data(msgs)["handle"]}),
        lambda msgs: "Si (mp-149): a = {a} Å, volume {volume} Å^3.".format(**tool_data(msgs)),
        lambda msgs: "Si (mp-149) has a = {a} Å and a cell volume of {volume} Å^3.".format(**tool_data(msgs)),
    ]
    answer, model = ask(mp_settings, steps, "Lattice of Si?")
    handle = tool_data(model.calls[2])["handle"]
    assert handle.startswith("artifact://structure/") and '"sites"' not in model.calls[2][-1].content
    reference = Structure.from_dict(SAMPLE["mp-149"]["structure"])
    lattice = tool_data(model.calls[3])
    assert lattice["a"] == pytest.approx(reference.lattice.a, abs=1e-3)
    assert lattice["volume"] == pytest.approx(reference.volume, rel=1e-4)
    assert answer.citations == ["mp-149"] and answer.ungrounded == []


def test_unknown_formula_and_malformed_arguments_are_answered_clearly(mp_settings):
    steps = [
        call("ask_thermo_expert", {"task": "formation energy of Au and of GaN"}),
        call("get_thermo", {"formula": ["Au"]}),  # not in the snapshot
        call("get_thermo", {"formula": "GaN"}),  # a string where a list is required
        call("get_thermo", {"formula": ["Xq2"]}),  # not a formula
        call("get_thermo", {"formula": ["GaN"]}),
        lambda msgs: "No MP data for Au. GaN ({material_id}): {formation_energy_per_atom} eV/atom.".format(**first(msgs)),
        lambda msgs: msgs[-1].content.split("\n\n")[0].replace("No MP data", "MP has no thermo data"),
    ]
    answer, model = ask(mp_settings, steps, "Formation energies of Au and GaN?")
    observations = [m.content for m in model.calls[5] if isinstance(m, ToolMessage)]
    assert "no material matches formula=[Au]: not in Materials Project" in observations[0]
    assert "Input should be a valid list" in observations[1]
    assert "'Xq2' is not a chemical formula" in observations[2]
    assert str(SAMPLE["mp-804"]["formation_energy_per_atom"]) in answer.content
    assert answer.content.startswith("MP has no thermo data for Au.")
    assert answer.citations == ["mp-804"] and answer.ungrounded == []
