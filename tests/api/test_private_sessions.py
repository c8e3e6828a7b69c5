"""Private sessions through real HTTP: each key sees and continues only the sessions it created; another
key's session id answers exactly like an id that does not exist (404), on every route that takes one."""

from __future__ import annotations

import httpx
import pytest

from tests._support.keys import bearer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sessions(keyed_server, tokens) -> dict[str, str]:
    """One finished chat turn per key ``ana`` and ``bob``: key name -> session id."""
    out = {}
    for name in ("ana", "bob"):
        r = httpx.post(f"{keyed_server.base}/v1/chat", json={"message": f"Hello from {name}", "stream": False},
                       headers=bearer(tokens[name]), timeout=300)
        assert r.status_code == 200, r.text
        out[name] = r.json()["session_id"]
    return out


def test_listing_shows_only_ones_own_sessions(keyed_server, tokens, sessions):
    for name in ("ana", "bob"):
        listed = httpx.get(f"{keyed_server.base}/v1/sessions", headers=bearer(tokens[name]), timeout=30).json()
        assert [(s["id"], s["owner"], s["title"]) for s in listed] == [(sessions[name], name, f"Hello from {name}")]
    assert httpx.get(f"{keyed_server.base}/v1/sessions", headers=bearer(tokens["ops"]), timeout=30).json() == []


def test_another_keys_session_is_not_found(keyed_server, tokens, sessions):
    base, bob, ana_session = keyed_server.base, bearer(tokens["bob"]), sessions["ana"]
    unknown = "f" * 32

    def as_bob(session_id: str) -> list[httpx.Response]:
        return [
            httpx.get(f"{base}/v1/sessions/{session_id}", headers=bob, timeout=30),
            httpx.delete(f"{base}/v1/sessions/{session_id}", headers=bob, timeout=30),
            httpx.post(f"{base}/v1/chat", json={"message": "and?", "session_id": session_id, "stream": False},
                       headers=bob, timeout=60),
            httpx.get(f"{base}/v1/sessions/{session_id}/artifacts/{'a' * 12}", headers=bob, timeout=30),
        ]

    theirs, missing = as_bob(ana_session), as_bob(unknown)
    for got, expected in zip(theirs, missing, strict=True):
        assert got.status_code == expected.status_code == 404, got.text
        assert got.json()["detail"].replace(ana_session, unknown) == expected.json()["detail"]
    # ana's session is untouched and still hers
    mine = httpx.get(f"{base}/v1/sessions/{ana_session}", headers=bearer(tokens["ana"]), timeout=30)
    assert mine.status_code == 200 and mine.json()["turns"][0]["content"] == "Hello from ana"
    # nor can bob open it in the web app (signed in with his key as the cookie)
    page = httpx.get(f"{base}/chat/{ana_session}", cookies={"matlas_key": tokens["bob"]}, timeout=30)
    assert page.status_code == 404 and "Hello from ana" not in page.text


def test_an_owner_continues_and_deletes_its_session(keyed_server, tokens, sessions):
    base, bob = keyed_server.base, bearer(tokens["bob"])
    r = httpx.post(f"{base}/v1/chat", json={"message": "and?", "session_id": sessions["bob"], "stream": False},
                   headers=bob, timeout=300)
    assert r.status_code == 200 and r.json()["session_id"] == sessions["bob"]
    assert httpx.get(f"{base}/v1/sessions/{sessions['bob']}", headers=bob, timeout=30).json()["turn_count"] == 4
    assert httpx.delete(f"{base}/v1/sessions/{sessions['bob']}", headers=bob, timeout=30).status_code == 204
    assert httpx.get(f"{base}/v1/sessions", headers=bob, timeout=30).json() == []
