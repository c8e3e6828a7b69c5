"""What the clients send: search queries, chat questions, and the check that every answered chat
turn is stored in its session."""

from __future__ import annotations

import httpx

from bench.load.clients import Request

__all__ = ["QUERIES", "QUESTIONS", "ChatLedger", "search_request"]

QUERIES = ["wide band gap nitride semiconductor", "lithium battery cathode oxide", "blue LED semiconductor",
           "ferromagnetic metal with high Curie temperature", "transparent conducting oxide", "perovskite solar absorber",
           "solid electrolyte with fast lithium ion conduction", "thermoelectric telluride", "hard refractory carbide",
           "layered hexagonal sulfide"]
QUESTIONS = ["What is the band gap of GaN?", "Hello, what can you tell me about materials?",
             "What is the formation energy of Si?"]


def search_request(index: str | None, k: int = 10) -> Request:
    """``POST /v1/search`` cycling through ``QUERIES`` (on ``index``, or the default one)."""
    def send(client: httpx.AsyncClient, i: int, lane: int):
        body = {"query": QUERIES[i % len(QUERIES)], "k": k} | ({"index": index} if index else {})
        return client.post("/v1/search", json=body)
    return send


class ChatLedger:
    """Chat turns sent per client, to compare with what the sessions hold afterwards.

    Each client (lane) continues one session, created by its first answered turn; every turn sent
    counts, answered or not, so a lost turn shows up as a gap between sent and stored.
    """

    def __init__(self) -> None:
        self.sessions: dict[int, str] = {}
        self.sent: dict[int, int] = {}

    def request(self) -> Request:
        """The chat request function of the clients."""
        async def send(client: httpx.AsyncClient, i: int, lane: int):
            session_id = self.sessions.get(lane)
            body = {"message": QUESTIONS[i % len(QUESTIONS)], "stream": False}
            if session_id:
                body["session_id"] = session_id
            self.sent[lane] = self.sent.get(lane, 0) + 1
            r = await client.post("/v1/chat", json=body)
            if session_id is None and r.status_code == 200:
                self.sessions[lane] = r.json()["session_id"]
            return r
        return send

    def check(self, base: str, headers: dict[str, str]) -> dict:
        """Turns sent, user turns stored in the clients' sessions, and the turns lost."""
        stored = 0
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            for session_id in self.sessions.values():
                r = client.get(f"/v1/sessions/{session_id}")
                if r.status_code == 200:
                    stored += sum(t["role"] == "user" for t in r.json()["turns"])
        sent = sum(self.sent.values())
        return {"turns_sent": sent, "turns_stored": stored, "lost_turns": sent - stored}
