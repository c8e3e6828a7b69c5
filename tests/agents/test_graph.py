"""The supervisor graph on a scripted model: routing, tool errors as observations, streaming, limits."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

from agents.chat import ChatAgent, ChatTurn
from agents.graph import EXPERT_STEPS, build_graph
from matlas.errors import InvalidInput, UpstreamError
from matlas.settings import Settings, scrub
from tests._support.scripted_chat import ScriptedChatModel

GAN = {"material_id": "mp-804", "formula_pretty": "GaN", "formation_energy_per_atom": -0.6446}


@tool
def get_thermo(formula: list[str]) -> str:
    """Formation energy per atom of materials by formula."""
    if formula != ["GaN"]:
        raise InvalidInput(f"no material matches formula={formula}")
    return json.dumps([GAN])


def call(name: str, args: dict, id_: str) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": id_}])


def last_tool_json(messages) -> dict:
    return json.loads(next(m for m in reversed(messages) if isinstance(m, ToolMessage)).content)[0]


def agent_with(steps) -> tuple[ChatAgent, ScriptedChatModel]:
    model = ScriptedChatModel(steps=steps)
    return ChatAgent(build_graph(model, {"thermo": [get_thermo]}),
                     scrub=lambda text: scrub(text, Settings(llm_api_key="sk-secret-123"))), model


def test_supervisor_routes_expert_recovers_from_tool_error_and_streams_answer():
    agent, model = agent_with([
        call("ask_thermo_expert", {"task": "formation energy of GaN"}, "s1"),
        call("get_thermo", {"formula": ["GaNN"]}, "e1"),  # a typo the expert must recover from
        call("get_thermo", {"formula": ["GaN"]}, "e2"),
        lambda msgs: "GaN ({material_id}): {formation_energy_per_atom} eV/atom".format(**last_tool_json(msgs)),
        lambda msgs: "GaN (mp-804) has a formation energy of -0.6446 eV/atom.",
    ])
    events = list(agent.stream([], "What is the formation energy of GaN?"))
    kinds = [e.event for e in events]
    assert kinds[:5] == ["route", "tool_call", "tool_result", "tool_call", "tool_result"]
    assert kinds[-1] == "answer" and "token" in kinds
    assert "no material matches formula=['GaNN']" in events[2].data["content"]
    assert events[2].data["content"].startswith("Error:")  # came back as an observation, not a crash
    tokens = "".join(e.data["text"] for e in events if e.event == "token")
    answer = events[-1].data
    assert tokens == answer["content"] == "GaN (mp-804) has a formation energy of -0.6446 eV/atom."
    assert answer["citations"] == ["mp-804"] and answer["ungrounded"] == []
    assert [s["event"] for s in answer["steps"]] == kinds[:5]
    # the expert saw the error observation before retrying; the supervisor saw the exact tool data
    assert "Error:" in model.calls[2][-1].content
    handoff = model.calls[4][-1]
    assert isinstance(handoff, ToolMessage) and "-0.6446" in handoff.content


def test_numbers_no_tool_returned_are_flagged():
    agent, _ = agent_with([
        call("ask_thermo_expert", {"task": "formation energy of GaN"}, "s1"),
        call("get_thermo", {"formula": ["GaN"]}, "e1"),
        "GaN: -0.6446 eV/atom (mp-804).",
        "GaN (mp-804): -0.6446 eV/atom, and its band gap is 3.4 eV.",
    ])
    answer = agent.ask([ChatTurn(role="user", content="hi"), ChatTurn(role="assistant", content="hello")], "GaN?")
    assert answer.ungrounded == ["3.4 eV"]


def test_unknown_expert_and_bad_handoff_come_back_as_observations():
    agent, model = agent_with([
        AIMessage("", tool_calls=[
            {"name": "ask_quantum_expert", "args": {"task": "x y z"}, "id": "s1"},
            {"name": "ask_thermo_expert", "args": {}, "id": "s2"},
        ]),
        "I could not route that question.",
    ])
    answer = agent.ask([], "?")
    observations = [m for m in model.calls[1] if isinstance(m, ToolMessage)]
    assert len(observations) == 2 and all(o.content.startswith("Error:") for o in observations)
    assert "ask_thermo_expert" in observations[0].content
    assert answer.content == "I could not route that question." and answer.citations == []


def test_expert_stops_after_its_step_budget():
    loop = [call("get_thermo", {"formula": ["GaN"]}, f"e{i}") for i in range(EXPERT_STEPS + 1)]
    agent, model = agent_with([call("ask_thermo_expert", {"task": "loop"}, "s1"), *loop, "Gave up."])
    answer = agent.ask([], "loop")
    assert answer.content == "Gave up."
    assert f"stopped after {EXPERT_STEPS} steps" in model.calls[-1][-1].content


def test_backend_failure_is_an_error_event_with_secrets_scrubbed():
    def boom(messages):
        raise ConnectionError("endpoint refused key sk-secret-123")

    agent, _ = agent_with([boom])
    events = list(agent.stream([], "GaN?"))
    assert [e.event for e in events] == ["error"]
    assert "ConnectionError" in events[0].data["detail"] and "sk-secret-123" not in events[0].data["detail"]
    with pytest.raises(UpstreamError):
        agent_with([boom])[0].ask([], "GaN?")


def test_unknown_expert_prompt_is_rejected():
    with pytest.raises(ValueError, match="no prompt for experts"):
        build_graph(ScriptedChatModel(steps=[]), {"alchemy": [get_thermo]})
