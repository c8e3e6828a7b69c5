"""Per-key rate limits (429 + Retry-After), the cap on concurrent chat turns (503 + Retry-After) and the
request timeout (503), through real HTTP against a keyed ``matlas serve``.

The LLM is a scripted provider whose replies wait on a gate the test holds, so a turn can be kept
running for as long as a check needs.
"""

from __future__ import annotations

import shutil
import threading
import time

import httpx
import pytest

from tests._support.http_server import serving
from tests._support.keys import api_key, bearer
from tests._support.scripted_openai import scripted_openai
from tests._support.serve import serve_process

pytestmark = pytest.mark.slow

SEARCHES_PER_MINUTE, CHATS_PER_MINUTE, TIMEOUT_S = 4, 3, 30
KEYS = ("s1", "s2", "c1", "t1", "t2", "t3", "m1")
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
UNKNOWN_SESSION = "0" * 32


@pytest.fixture(scope="module")
def limited(tmp_path_factory, built_index, mp_db, encoder_cache):
    """(base URL, tokens by key name, the gate of the scripted LLM, its app) of a server with small limits."""
    home = tmp_path_factory.mktemp("limited-home")
    shutil.copytree(built_index, home / "indexes" / "mini")
    tokens, entries = {}, []
    for name in KEYS:
        tokens[name], entry = api_key(name, "read")
        entries.append(entry)
    gate = threading.Event()
    gate.set()

    def gated(messages):
        gate.wait(120)
        return {"text": "No data for that."}

    provider = scripted_openai([gated] * 10_000)
    with serving(provider) as llm_url:
        env = {"MATLAS_HOME": str(home), "MATLAS_INDEX_ROOT": str(home / "indexes"), "MATLAS_DEFAULT_INDEX": "mini",
               "MATLAS_MP_DB": str(mp_db), "MATLAS_LLM_BASE_URL": f"{llm_url}/v1", "MATLAS_LLM_MODEL": "scripted",
               "MATLAS_API_KEYS": ",".join(entries),
               "MATLAS_RATE_LIMIT_SEARCH": f"{SEARCHES_PER_MINUTE}/minute",
               "MATLAS_RATE_LIMIT_CHAT": f"{CHATS_PER_MINUTE}/minute",
               "MATLAS_MAX_CONCURRENT_CHATS": "1", "MATLAS_REQUEST_TIMEOUT_S": str(TIMEOUT_S),
               "MATLAS_ENCODER_CACHE": encoder_cache}
        with serve_process(env, timeout_s=600) as served:
            yield served.base, tokens, gate, provider
        gate.set()


def retry_after(response: httpx.Response) -> int:
    value = int(response.headers["Retry-After"])
    assert value >= 1
    return value


def test_searches_past_the_rate_limit_get_429_per_key(limited):
    base, tokens, _, _ = limited
    body = {"query": "blue LED semiconductor", "k": 2}
    for _ in range(SEARCHES_PER_MINUTE):
        assert httpx.post(f"{base}/v1/search", json=body, headers=bearer(tokens["s1"]), timeout=60).status_code == 200
    over = httpx.post(f"{base}/v1/search", json=body, headers=bearer(tokens["s1"]), timeout=60)
    assert over.status_code == 429 and "'s1'" in over.json()["detail"] and "search limit" in over.json()["detail"]
    assert retry_after(over) <= 60
    # another key has its own counter
    assert httpx.post(f"{base}/v1/search", json=body, headers=bearer(tokens["s2"]), timeout=60).status_code == 200


def test_mcp_searches_count_against_the_same_limit(limited):
    base, tokens, _, _ = limited
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "retrieval_search", "arguments": {"query": "blue LED semiconductor", "k": 2}}}
    replies = [httpx.post(f"{base}/mcp", json=call, headers=MCP_HEADERS | bearer(tokens["m1"]), timeout=60)
               for _ in range(SEARCHES_PER_MINUTE + 1)]
    assert all(r.status_code == 200 for r in replies)
    assert all('"isError":true' not in r.text and "gan" in r.text for r in replies[:-1]), replies[0].text
    assert '"isError":true' in replies[-1].text and "'m1' is over its search limit" in replies[-1].text


def test_chats_past_the_rate_limit_get_429(limited):
    base, tokens, _, _ = limited
    body = {"message": "and then?", "session_id": UNKNOWN_SESSION, "stream": False}
    for _ in range(CHATS_PER_MINUTE):  # counted even when the turn then fails (an unknown session)
        assert httpx.post(f"{base}/v1/chat", json=body, headers=bearer(tokens["c1"]), timeout=60).status_code == 404
    over = httpx.post(f"{base}/v1/chat", json=body, headers=bearer(tokens["c1"]), timeout=60)
    assert over.status_code == 429 and "chat limit" in over.json()["detail"]
    assert retry_after(over) <= 60


def test_a_chat_turn_past_the_concurrency_cap_gets_503_until_a_slot_frees(limited):
    base, tokens, gate, provider = limited
    asked = len(provider.state.requests)
    gate.clear()
    try:
        with httpx.stream("POST", f"{base}/v1/chat", json={"message": "Band gap of GaN?"},
                          headers=bearer(tokens["t1"]), timeout=120) as held:
            assert held.status_code == 200
            deadline = time.monotonic() + 120
            while len(provider.state.requests) == asked:  # the turn is waiting on the model: its slot is taken
                assert time.monotonic() < deadline, "the turn never asked the model"
                time.sleep(0.2)
            busy = httpx.post(f"{base}/v1/chat", json={"message": "Band gap of Si?", "stream": False},
                              headers=bearer(tokens["t2"]), timeout=60)
            assert busy.status_code == 503 and "chat turn" in busy.json()["detail"], busy.text
            retry_after(busy)
            gate.set()
            events = [line for line in held.iter_lines() if line.startswith("event: ")]
        assert events[-1] == "event: done" and "event: answer" in events
    finally:
        gate.set()
    again = httpx.post(f"{base}/v1/chat", json={"message": "Band gap of Si?"}, headers=bearer(tokens["t2"]),
                       timeout=120)
    assert again.status_code == 200 and "event: answer" in again.text


def test_a_response_that_does_not_start_in_time_gets_503(limited):
    base, tokens, gate, _ = limited
    gate.clear()
    try:
        started = time.monotonic()
        r = httpx.post(f"{base}/v1/chat", json={"message": "Band gap of GaN?", "stream": False},
                       headers=bearer(tokens["t3"]), timeout=TIMEOUT_S * 4)
        assert time.monotonic() - started < TIMEOUT_S * 3  # answered by the deadline, not by the gate
    finally:
        gate.set()
    assert r.status_code == 503 and f"request timeout of {TIMEOUT_S} s" in r.json()["detail"]
    retry_after(r)
