"""``/v1/chat/completions`` and ``/v1/models`` over real HTTP, driven by the ``openai`` client and LangChain.

The app runs the tiny model in-process (no broker); tests/workers/test_llm_tasks.py covers the worker path.
"""

from __future__ import annotations

import httpx
import openai
import pytest

from matlas.api import create_app
from matlas.settings import Settings
from tests._support.http_server import serving
from workers import llm_service
from workers.tool_calls import render_with_tools

CHAT = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Band gap of GaN?"}]


@pytest.fixture(scope="module")
def model_id(tiny_lm_dir) -> str:
    return str(tiny_lm_dir)


@pytest.fixture(scope="module")
def base_url(model_id, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    settings = Settings(llm_model=model_id, home=home, index_root=home / "indexes", broker_url=None,
                        device="cpu", llm_max_tokens=64)
    with serving(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="not-needed", max_retries=0)


def _expected(model_id: str, **kw):
    return llm_service.get_model(model_id).complete(CHAT, **{"max_tokens": 16, "temperature": 1.0, "seed": 5, **kw})


def test_models_lists_the_hosted_model(client, model_id):
    models = client.models.list().data
    assert [(m.id, m.object, m.owned_by) for m in models] == [(model_id, "model", "matlas")]
    assert models[0].created > 0


def test_completion_matches_the_model(client, model_id):
    reply = client.chat.completions.create(model=model_id, messages=CHAT, max_tokens=16, temperature=1.0, seed=5)
    expected = _expected(model_id)
    assert reply.id.startswith("chatcmpl-") and reply.object == "chat.completion" and reply.model == model_id
    assert len(reply.choices) == 1
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == expected.text
    assert reply.choices[0].finish_reason == expected.finish_reason
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (
        expected.prompt_tokens, expected.completion_tokens, expected.prompt_tokens + expected.completion_tokens)


def test_stream_equals_the_whole_completion(client, model_id):
    whole = client.chat.completions.create(model=model_id, messages=CHAT, max_completion_tokens=10, temperature=0)
    chunks = list(client.chat.completions.create(model=model_id, messages=CHAT, max_completion_tokens=10,
                                                 temperature=0, stream=True, stream_options={"include_usage": True}))
    assert len({c.id for c in chunks}) == 1 and all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [whole.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage


def test_stop_and_max_tokens_are_honoured(client, model_id):
    full = _expected(model_id).text
    stop = full[len(full) // 2:][:2]
    reply = client.chat.completions.create(model=model_id, messages=CHAT, max_tokens=16, temperature=1.0, seed=5,
                                           stop=stop)
    assert reply.choices[0].message.content == full[:full.find(stop)] and reply.choices[0].finish_reason == "stop"
    short = client.chat.completions.create(model=model_id, messages=CHAT, max_tokens=2, temperature=1.0, seed=5)
    assert (short.usage.completion_tokens, short.choices[0].finish_reason) == (2, "length")


def test_sse_wire_format(base_url, model_id):
    body = {"model": model_id, "messages": CHAT, "max_tokens": 4, "stream": True}
    with httpx.stream("POST", f"{base_url}/v1/chat/completions", json=body, timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]" and '"finish_reason":null' in lines[0]


def test_langchain_chat_openai_invokes_and_streams(base_url, model_id):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model=model_id, base_url=f"{base_url}/v1", api_key="not-needed", temperature=0, max_tokens=8,
                     max_retries=0)
    whole = llm.invoke([("system", "Answer briefly."), ("human", "Band gap of GaN?")])
    streamed = "".join(c.content for c in llm.stream([("system", "Answer briefly."), ("human", "Band gap of GaN?")]))
    assert whole.content == streamed == _expected(model_id, max_tokens=8, temperature=0.0, seed=None).text
    assert whole.usage_metadata["output_tokens"] > 0


def test_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-9", messages=CHAT)
    assert "'gpt-9' is not served" in err.value.response.json()["detail"]


@pytest.mark.parametrize("extra,needle", [
    ({"n": 2}, "n must be 1"),
    ({"max_tokens": 65}, "exceeds this server's limit of 64"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "role"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "at most 4"),
    ({"tools": [{"type": "retrieval"}]}, "function"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"temperature": 3}, "temperature"),
])
def test_bad_requests_are_422_with_a_reason(base_url, model_id, extra, needle):
    r = httpx.post(f"{base_url}/v1/chat/completions", json={"model": model_id, "messages": CHAT, **extra}, timeout=30)
    assert r.status_code == 422 and needle in str(r.json()["detail"])


THERMO_TOOL = {"type": "function", "function": {
    "name": "get_thermo", "description": "Formation energy per atom of materials by formula.",
    "parameters": {"type": "object", "properties": {"formula": {"type": "array", "items": {"type": "string"}}},
                   "required": ["formula"]}}}
TOOL_EXCHANGE = [
    *CHAT,
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_thermo", "arguments": '{"formula": ["GaN"]}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": '{"formation_energy_per_atom": -0.651}'},
]


def test_tools_and_tool_results_reach_the_model_as_text(client, model_id):
    """Offered tools and a finished tool exchange are rendered into the prompt (Hermes protocol)."""
    plain = client.chat.completions.create(model=model_id, messages=CHAT, max_tokens=4, temperature=0)
    with_tools = client.chat.completions.create(model=model_id, messages=TOOL_EXCHANGE, tools=[THERMO_TOOL],
                                                max_tokens=4, temperature=0)
    hidden = client.chat.completions.create(model=model_id, messages=CHAT, tools=[THERMO_TOOL], tool_choice="none",
                                            max_tokens=4, temperature=0)
    rendered = llm_service.get_model(model_id).prompt_ids(render_with_tools(TOOL_EXCHANGE, [THERMO_TOOL]))
    assert with_tools.usage.prompt_tokens == len(rendered) > plain.usage.prompt_tokens
    assert hidden.usage.prompt_tokens == plain.usage.prompt_tokens
    assert with_tools.choices[0].finish_reason in {"stop", "length"}  # the random model wrote no call


def test_tool_call_replies_in_the_openai_wire_format():
    """A reply with ``<tool_call>`` blocks becomes tool_calls the openai client and LangChain both read."""
    from langchain_openai.chat_models.base import _convert_dict_to_message
    from openai.types.chat import ChatCompletion as WireCompletion

    from matlas.api.openai_models import AssistantMessage, ChatCompletion, Choice, Usage

    text = 'Checking. <tool_call>{"name": "get_thermo", "arguments": {"formula": ["GaN"]}}</tool_call>'
    message = AssistantMessage.parse(text, tools_offered=True)
    body = ChatCompletion(id="chatcmpl-x", created=1, model="m", usage=Usage.of(1, 1),
                          choices=[Choice(message=message, finish_reason="tool_calls")]).model_dump(mode="json")
    wire = WireCompletion.model_validate(body)
    call = wire.choices[0].message.tool_calls[0]
    assert (call.function.name, call.function.arguments) == ("get_thermo", '{"formula": ["GaN"]}')
    assert wire.choices[0].message.content == "Checking."
    lc = _convert_dict_to_message(body["choices"][0]["message"])
    assert lc.tool_calls[0]["args"] == {"formula": ["GaN"]}
    assert AssistantMessage.parse(text, tools_offered=False).content == text


def test_langchain_with_bound_tools_streams_from_the_endpoint(base_url, model_id):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model=model_id, base_url=f"{base_url}/v1", api_key="not-needed", max_tokens=6,
                     temperature=0, streaming=True, max_retries=0)
    reply = llm.bind_tools([THERMO_TOOL]).invoke("Formation energy of GaN?")
    expected = client_free_complete(model_id, "Formation energy of GaN?")
    assert reply.content == expected and reply.tool_calls == []


def client_free_complete(model_id: str, question: str) -> str:
    """What the hosted model itself answers to ``question`` with the tool offered."""
    messages = render_with_tools([{"role": "user", "content": question}], [THERMO_TOOL])
    return llm_service.get_model(model_id).complete(messages, max_tokens=6, temperature=0).text.strip()


CHOICE_TOOLS = [
    {"type": "function", "function": {"name": "get_thermo", "description": "Thermo data of a material.",
                                      "parameters": {"type": "object", "properties": {
                                          "formula": {"type": "string", "enum": ["GaN", "ZnO"]},
                                          "limit": {"type": "integer", "minimum": 1, "maximum": 9}},
                                          "required": ["formula"]}}},
    {"type": "function", "function": {"name": "get_band_gap", "description": "Band gap of a material.",
                                      "parameters": {"type": "object", "properties": {
                                          "material_id": {"type": "string", "enum": ["mp-804", "mp-2133"]}},
                                          "required": ["material_id"]}}},
]


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "get_band_gap"}}])
def test_tool_choice_forces_a_schema_valid_call_even_from_a_random_model(client, model_id, choice):
    """Grammar-constrained decoding: the random tiny model can only write a valid call of an offered tool."""
    import json

    import jsonschema

    reply = client.chat.completions.create(model=model_id, messages=CHAT, tools=CHOICE_TOOLS, tool_choice=choice,
                                           temperature=0, max_tokens=64)
    assert reply.choices[0].finish_reason == "tool_calls"
    (call,) = reply.choices[0].message.tool_calls
    specs = {t["function"]["name"]: t["function"]["parameters"] for t in CHOICE_TOOLS}
    if isinstance(choice, dict):
        assert call.function.name == "get_band_gap"
    jsonschema.validate(json.loads(call.function.arguments), specs[call.function.name])


def test_tool_choice_naming_an_unknown_tool_is_a_clear_error(base_url, model_id):
    body = {"model": model_id, "messages": CHAT, "tools": CHOICE_TOOLS,
            "tool_choice": {"type": "function", "function": {"name": "get_colour"}}}
    r = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=30)
    assert 400 <= r.status_code < 500 and "get_colour" in str(r.json()["detail"])
