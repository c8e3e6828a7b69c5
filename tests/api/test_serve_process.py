"""``matlas serve`` as a real process answering real HTTP on loopback."""

import threading
import time
from contextlib import contextmanager

import httpx
import psutil
import pytest

from tests._support.http_server import serving
from tests._support.scripted_openai import scripted_openai
from tests._support.serve import serve_process


@contextmanager
def matlas_serve(env: dict[str, str]):
    """A ``matlas serve`` process on a free port; yields its base URL."""
    with serve_process(env) as served:
        yield served.base


@pytest.mark.slow
def test_serve_answers_search_over_http(built_index, tmp_path):
    env = {"MATLAS_INDEX_ROOT": str(built_index.parent), "MATLAS_DEFAULT_INDEX": "mini", "MATLAS_HOME": str(tmp_path)}
    with serve_process(env) as served:
        base = served.base
        r = httpx.post(f"{base}/v1/search", json={"query": "blue LED semiconductor", "k": 3}, timeout=60)
        assert r.status_code == 200 and r.json()["hits"][0]["id"] == "gan"
        bad = httpx.post(f"{base}/v1/search", json={"query": "x", "k": -1}, timeout=10)
        assert bad.status_code == 422 and "detail" in bad.json()
        assert httpx.get(f"{base}/v1/indexes", timeout=10).json()[0]["name"] == "mini"
    assert "no API key configured: listening on loopback (127.0.0.1) only" in served.output()


@pytest.mark.slow
def test_chat_sessions_survive_a_restart_of_the_api_process(mp_db, sample, tmp_path):
    """Two turns in one session, with a real API process restarted between them (SQLite session store).

    The question is linked (GaN, formation energy), so the real get_thermo runs before the model writes; the
    model's draft states the snapshot's value, and the answer is checked against the snapshot: a tool that
    returned another value would make the draft's number ungrounded and the answer composed from the tool.
    """
    expected = f"GaN (mp-804) has a formation energy of {sample['mp-804']['formation_energy_per_atom']} eV/atom."
    replies = [
        {"text": expected},
        lambda messages: {"text": "As said: " + [m for m in messages if m["role"] == "assistant"][-1]["content"]},
    ]
    provider = scripted_openai(replies)
    with serving(provider) as llm_url:
        env = {"MATLAS_HOME": str(tmp_path), "MATLAS_MP_DB": str(mp_db), "MATLAS_LLM_BASE_URL": f"{llm_url}/v1",
               "MATLAS_LLM_MODEL": "scripted"}
        with matlas_serve(env) as base:
            r = httpx.post(f"{base}/v1/chat", json={"message": "Formation energy of GaN?", "stream": False}, timeout=120)
            assert r.status_code == 200, r.text
            session_id = r.json()["session_id"]
            answer = r.json()["answer"]
            assert (answer["content"], answer["citations"], answer["ungrounded"]) == (expected, ["mp-804"], [])
        with matlas_serve(env) as base:  # a new process over the same store
            stored = httpx.get(f"{base}/v1/sessions/{session_id}", timeout=30).json()
            assert [(t["role"], t["content"]) for t in stored["turns"]] == [
                ("user", "Formation energy of GaN?"), ("assistant", expected)]
            r = httpx.post(f"{base}/v1/chat", json={"message": "And again?", "session_id": session_id,
                                                    "stream": False}, timeout=120)
            assert r.status_code == 200, r.text
            assert r.json()["answer"]["content"] == f"As said: {expected}"
            assert len(httpx.get(f"{base}/v1/sessions/{session_id}", timeout=30).json()["turns"]) == 4
    last = provider.state.requests[-1]["messages"]  # the restarted process sent the stored history along
    assert [m["content"] for m in last if m["role"] in ("user", "assistant")][-3:] == [
        "Formation energy of GaN?", expected, "And again?"]


@pytest.mark.slow
def test_serve_with_two_workers_warms_both_and_answers(built_index, tmp_path):
    """``matlas serve --workers 2``: two uvicorn worker processes, each warm (its own pid printed), the server answering."""
    env = {"MATLAS_INDEX_ROOT": str(built_index.parent), "MATLAS_DEFAULT_INDEX": "mini", "MATLAS_HOME": str(tmp_path)}
    with serve_process(env, "--workers", "2", timeout_s=600) as served:  # two workers load at once
        deadline = time.monotonic() + 300
        while len(warm := {line for line in served.output().splitlines() if "warm: mini (worker" in line}) < 2:
            assert served.alive() and time.monotonic() < deadline, served.output()
            time.sleep(0.5)
        workers = {int(line.rsplit(" ", 1)[1].rstrip(")\n")) for line in warm}
        assert workers <= {p.pid for p in psutil.Process(served.process.pid).children()}
        with httpx.Client(timeout=60) as client:  # a new connection per request spreads them over the workers
            for _ in range(6):
                r = client.post(f"{served.base}/v1/search", json={"query": "blue LED semiconductor", "k": 3},
                                headers={"Connection": "close"})
                assert r.status_code == 200 and r.json()["hits"][0]["id"] == "gan"


@pytest.mark.slow
def test_a_redis_restart_mid_conversation_loses_no_turn(redis_server, redis_url, tmp_path):
    """Issue 14's soak over HTTP: a turn sent while Redis (the session store) restarts is answered and stored."""
    provider = scripted_openai([{"text": "Materials data answers questions about crystals."}] * 8)
    with serving(provider) as llm_url:
        env = {"MATLAS_HOME": str(tmp_path), "MATLAS_LLM_BASE_URL": f"{llm_url}/v1", "MATLAS_LLM_MODEL": "scripted",
               "MATLAS_SESSIONS_BACKEND": "redis", "MATLAS_REDIS_URL": redis_url}
        with serve_process(env, timeout_s=600) as served:
            base = served.base
            ask = {"message": "Hello, what can you tell me about materials?", "stream": False}
            r = httpx.post(f"{base}/v1/chat", json=ask, timeout=120)
            assert r.status_code == 200, r.text
            session_id = r.json()["session_id"]
            redis_server.stop()
            restart = threading.Timer(1.5, redis_server.start)
            restart.start()
            try:
                r = httpx.post(f"{base}/v1/chat", json=ask | {"session_id": session_id}, timeout=120)
            finally:
                restart.join()
            assert r.status_code == 200, r.text
            turns = httpx.get(f"{base}/v1/sessions/{session_id}", timeout=30).json()["turns"]
            assert [t["role"] for t in turns] == ["user", "assistant"] * 2
