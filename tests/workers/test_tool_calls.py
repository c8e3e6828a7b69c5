"""The text tool-calling protocol shared by the local agent backend and the OpenAI-compatible endpoint."""

from __future__ import annotations

import json

from workers.tool_calls import parse_tool_calls, render_with_tools

TOOL = {"type": "function", "function": {"name": "get_thermo", "description": "Formation energy.",
                                         "parameters": {"type": "object", "properties": {"formula": {"type": "array"}}}}}


def test_parse_keeps_text_and_skips_broken_json():
    text, calls = parse_tool_calls(
        'Let me check. <tool_call>{"name": "get_thermo", "arguments": {"formula": ["GaN"]}}</tool_call>'
        '<tool_call>{"name": broken}</tool_call><tool_call>{"arguments": {}}</tool_call>'
    )
    assert text == "Let me check." and [c["name"] for c in calls] == ["get_thermo"]
    assert calls[0]["arguments"] == {"formula": ["GaN"]} and calls[0]["id"].startswith("call_")


def test_render_round_trips_a_tool_exchange_for_any_chat_template():
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "GaN?"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_thermo", "arguments": '{"formula": ["GaN"]}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"formation_energy_per_atom": -0.651}'},
    ]
    rendered = render_with_tools(messages, [TOOL])
    assert [m["role"] for m in rendered] == ["system", "user", "assistant", "user"]
    assert rendered[0]["content"].startswith("Be brief.\n\n# Tools") and json.dumps(TOOL["function"]) in rendered[0]["content"]
    assert rendered[1]["content"] == "GaN?"
    _, calls = parse_tool_calls(rendered[2]["content"])  # what the model wrote parses back to the same call
    assert [(c["name"], c["arguments"]) for c in calls] == [("get_thermo", {"formula": ["GaN"]})]
    assert rendered[3]["content"] == '[result of get_thermo]\n{"formation_energy_per_atom": -0.651}'


def test_render_without_tools_adds_no_prompt():
    assert render_with_tools([{"role": "user", "content": "hi"}], None) == [{"role": "user", "content": "hi"}]
    assert render_with_tools([{"role": "user", "content": "hi"}], [TOOL])[0]["role"] == "system"
