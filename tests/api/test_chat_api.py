"""``POST /v1/chat`` (SSE and JSON) and ``/v1/sessions`` over the real agent, MP snapshot server and stores.

Only the LLM is scripted (``ScriptedChatModel``); tools query the bundled MP sample through mp-api.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage

from matlas.api import create_app
from matlas.api.routes.chat import MAX_MESSAGE_CHARS
from matlas.settings import Settings
from matlas.wiring import chat_service
from tests._support.scripted_chat import ScriptedChatModel

SI_ANSWER = "Silicon (mp-149) has a band gap of 0.61 eV."


def call(name: str, args: dict, id_: str) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": id_}])


def si_band_gap_script(answer: str = SI_ANSWER) -> list:
    """The linker fetches Si's band gap (get_band_structure_summary on MP); the model writes the answer."""
    return [answer]


@pytest.fixture(scope="module")
def mp_db(tmp_path_factory):
    from tests._support.mp import sample_snapshot

    return sample_snapshot(tmp_path_factory.mktemp("mp") / "mp.sqlite").path


@pytest.fixture
def settings(tmp_path, mp_db) -> Settings:
    return Settings(home=tmp_path, index_root=tmp_path / "indexes", mp_db=mp_db, mp_api_key=None, llm_api_key=None)


def client_for(settings: Settings, steps: list) -> tuple[TestClient, ScriptedChatModel]:
    model = ScriptedChatModel(steps=steps)
    return TestClient(create_app(settings, chat_service=chat_service(settings, llm=model))), model


def sse_events(text: str) -> list[tuple[str, dict]]:
    """``(event, data)`` of each event of a ``text/event-stream`` body."""
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_stream_order_answer_and_stored_turn(settings):
    client, _ = client_for(settings, si_band_gap_script())
    r = client.post("/v1/chat", json={"message": "What is the band gap of Si?"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    kinds = [e for e, _ in events]
    first_token = kinds.index("token")
    assert kinds[:3] == ["session", "tool_call", "tool_result"]
    assert set(kinds[first_token:-2]) == {"token"} and kinds[-2:] == ["answer", "done"]
    session_id = events[0][1]["session_id"]
    assert events[-1][1] == {"session_id": session_id}
    assert events[1][1]["expert"] == "linker" and events[1][1]["tool"] == "get_band_structure_summary"
    assert '"band_gap":0.61' in events[2][1]["content"].replace(" ", "")  # real MP data came back
    answer = events[-2][1]
    assert answer["content"] == SI_ANSWER == "".join(d["text"] for e, d in events if e == "token")
    assert answer["citations"] == ["mp-149"] and answer["ungrounded"] == []

    stored = client.get(f"/v1/sessions/{session_id}").json()
    assert stored["title"] == "What is the band gap of Si?" and stored["turn_count"] == 2
    user, assistant = stored["turns"]
    assert (user["role"], user["content"]) == ("user", "What is the band gap of Si?")
    assert (assistant["content"], assistant["citations"]) == (SI_ANSWER, ["mp-149"])
    assert [s["event"] for s in assistant["steps"]] == ["tool_call", "tool_result"]


def test_json_turn_continues_the_session_with_its_history(settings):
    client, model = client_for(settings, [*si_band_gap_script(), "It is 0.61 eV, as above (mp-149)."])
    first = client.post("/v1/chat", json={"message": "Band gap of Si?", "stream": False})
    assert first.status_code == 200, first.text
    session_id = first.json()["session_id"]
    assert first.json()["answer"]["citations"] == ["mp-149"]
    again = client.post("/v1/chat", json={"message": "Repeat it.", "session_id": session_id, "stream": False})
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["session_id"] == session_id and body["answer"]["content"] == "It is 0.61 eV, as above (mp-149)."
    # no tool ran in this turn: the number is grounded by the earlier turn's tool result, which stays citable
    assert body["answer"]["ungrounded"] == [] and body["answer"]["citations"] == ["mp-149"]
    seen = [m.content for m in model.calls[-1][1:]]  # after the system prompt
    assert seen == ["Band gap of Si?", SI_ANSWER, "Repeat it."]
    assert client.get(f"/v1/sessions/{session_id}").json()["turn_count"] == 4


def test_agent_error_stores_no_turn(settings):
    def down(messages):
        raise ConnectionError("LLM endpoint unreachable")

    client, _ = client_for(settings, [down, down])
    events = sse_events(client.post("/v1/chat", json={"message": "Band gap of Si?"}).text)
    assert [e for e, _ in events] == ["session", "tool_call", "tool_result", "error", "done"]
    assert "ConnectionError" in events[3][1]["detail"]
    session_id = events[0][1]["session_id"]
    assert client.get(f"/v1/sessions/{session_id}").json()["turns"] == []

    r = client.post("/v1/chat", json={"message": "again", "session_id": session_id, "stream": False})
    assert r.status_code == 502 and "LLM endpoint unreachable" in r.json()["detail"]
    assert client.get(f"/v1/sessions/{session_id}").json()["turns"] == []


def test_sessions_survive_an_app_restart(settings):
    client, _ = client_for(settings, si_band_gap_script())
    session_id = client.post("/v1/chat", json={"message": "Band gap of Si?", "stream": False}).json()["session_id"]
    client.close()

    restarted, model = client_for(settings, ["Silicon (mp-149): 0.61 eV, as I said."])
    assert [s["id"] for s in restarted.get("/v1/sessions").json()] == [session_id]
    r = restarted.post("/v1/chat", json={"message": "And again?", "session_id": session_id, "stream": False})
    assert r.status_code == 200, r.text
    assert [m.content for m in model.calls[0][1:3]] == ["Band gap of Si?", SI_ANSWER]
    assert restarted.get(f"/v1/sessions/{session_id}").json()["turn_count"] == 4


def test_redis_sessions_across_app_instances(settings, redis_url):
    settings = settings.model_copy(update={"sessions_backend": "redis", "redis_url": redis_url})
    client, _ = client_for(settings, si_band_gap_script())
    session_id = client.post("/v1/chat", json={"message": "Band gap of Si?", "stream": False}).json()["session_id"]
    other, _ = client_for(settings, [])
    turns = other.get(f"/v1/sessions/{session_id}").json()["turns"]
    assert [t["content"] for t in turns] == ["Band gap of Si?", SI_ANSWER]
    assert not (settings.home / "sessions.sqlite").exists()


def test_list_and_delete(settings):
    client, _ = client_for(settings, [*si_band_gap_script(), *si_band_gap_script()])
    ids = [client.post("/v1/chat", json={"message": f"Si gap {i}?", "stream": False}).json()["session_id"]
           for i in range(2)]
    listed = client.get("/v1/sessions").json()
    assert [s["id"] for s in listed] == ids[::-1] and listed[0]["turn_count"] == 2
    assert [s["id"] for s in client.get("/v1/sessions", params={"limit": 1}).json()] == [ids[1]]
    assert client.delete(f"/v1/sessions/{ids[0]}").status_code == 204
    assert client.get(f"/v1/sessions/{ids[0]}").status_code == 404
    assert [s["id"] for s in client.get("/v1/sessions").json()] == [ids[1]]


@pytest.mark.parametrize(
    "method,path,body,status,needle",
    [
        ("post", "/v1/chat", {"message": "hi", "session_id": "0" * 32}, 404, "unknown session"),
        ("post", "/v1/chat", {"message": "hi", "session_id": "bad id", "stream": False}, 404, "unknown session"),
        ("get", "/v1/sessions/" + "0" * 32, None, 404, "unknown session"),
        ("delete", "/v1/sessions/" + "0" * 32, None, 404, "unknown session"),
        ("post", "/v1/chat", {"message": ""}, 422, "message"),
        ("post", "/v1/chat", {"message": "   "}, 422, "blank"),
        ("post", "/v1/chat", {"message": "x" * (MAX_MESSAGE_CHARS + 1)}, 422, "message"),
        ("post", "/v1/chat", {"session_id": None}, 422, "message"),
        ("get", "/v1/sessions?limit=0", None, 422, "limit"),
    ],
)
def test_bad_requests(settings, method, path, body, status, needle):
    client, model = client_for(settings, [])
    r = client.request(method.upper(), path, json=body)
    assert r.status_code == status and needle in json.dumps(r.json()["detail"])
    assert model.calls == [] and client.get("/v1/sessions").json() == []
