"""Session stores on real SQLite files and a real redis-server; chat turns stored only when answered."""

import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
from contextlib import closing

import pytest

from agents.sessions import RedisSessionStore, SqliteSessionStore, Turn
from matlas.errors import InvalidInput, SessionNotFound, UpstreamError
from matlas.settings import Settings
from matlas.wiring import open_session_store
from tests._support.redis_server import free_port


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return SqliteSessionStore(tmp_path / "sessions.sqlite")
    return RedisSessionStore(request.getfixturevalue("redis_url"))


def _exchange(i: int) -> list[Turn]:
    return [Turn(role="user", content=f"question {i}"),
            Turn(role="assistant", content=f"answer {i}", citations=[f"mp-{i}"], ungrounded=["9.9"],
                 steps=[{"event": "route", "data": {"expert": "thermo"}}])]


def test_round_trip(store):
    info = store.create("band gap of Si")
    assert len(info.id) == 32 and info.title == "band gap of Si" and info.turn_count == 0
    store.append(info.id, _exchange(1))
    store.append(info.id, _exchange(2))
    session = store.get(info.id)
    assert [t.content for t in session.turns] == ["question 1", "answer 1", "question 2", "answer 2"]
    assert session.turn_count == 4 and session.updated_at > session.created_at
    last = session.turns[-1]
    assert (last.role, last.citations, last.ungrounded, last.steps[0]["data"]["expert"]) == (
        "assistant", ["mp-2"], ["9.9"], "thermo")
    assert last.created_at.tzinfo is not None


def test_recent_is_newest_first_and_delete_removes(store):
    first, second = store.create("first"), store.create(None)
    assert [s.id for s in store.recent()] == [second.id, first.id]
    store.append(first.id, _exchange(1))
    listed = store.recent()
    assert [s.id for s in listed] == [first.id, second.id]
    assert (listed[0].turn_count, listed[1].title) == (2, None)
    assert [s.id for s in store.recent(limit=1)] == [first.id]
    store.delete(first.id)
    assert [s.id for s in store.recent()] == [second.id]
    with pytest.raises(SessionNotFound):
        store.get(first.id)


@pytest.mark.parametrize("session_id", ["0" * 32, "not-an-id", "recent", "../../etc/passwd"])
def test_unknown_ids_are_not_found(store, session_id):
    for call in (store.get, store.delete, lambda i: store.append(i, _exchange(0))):
        with pytest.raises(SessionNotFound, match="unknown session") as err:
            call(session_id)
        assert err.value.status_code == 404
    assert store.recent() == []  # a failed append created nothing


def test_concurrent_appends_keep_exchanges_whole(store):
    session = store.create()

    def worker(w: int) -> None:
        for i in range(10):
            store.append(session.id, _exchange(100 * w + i))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    turns = store.get(session.id).turns
    assert len(turns) == 80
    pairs = [(q.content.split()[1], a.content.split()[1]) for q, a in zip(turns[0::2], turns[1::2])]
    assert all(q == a for q, a in pairs) and len({q for q, _ in pairs}) == 40


def test_sqlite_is_shared_by_processes_and_survives_reopen(tmp_path):
    path = tmp_path / "sessions.sqlite"
    session = SqliteSessionStore(path).create("shared")
    script = textwrap.dedent(f"""
        import sys
        from agents.sessions import SqliteSessionStore, Turn
        store = SqliteSessionStore({str(path)!r})
        for i in range(15):
            store.append({session.id!r}, [Turn(role="user", content=sys.argv[1]), Turn(role="assistant", content=sys.argv[1])])
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, f"p{n}"]) for n in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    turns = SqliteSessionStore(path).get(session.id).turns
    assert len(turns) == 60
    assert all(q.content == a.content for q, a in zip(turns[0::2], turns[1::2]))
    assert sorted(t.content for t in turns[0::2]) == ["p0"] * 15 + ["p1"] * 15
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_redis_sessions_survive_a_server_restart(redis_server, redis_url):
    store = RedisSessionStore(redis_url)
    session = store.create("durable")
    store.append(session.id, _exchange(7))
    redis_server.stop()
    with pytest.raises(UpstreamError, match="session store \\(redis\\) failed"):
        RedisSessionStore(redis_url, retry_s=0.5).get(session.id)  # down for longer than the store waits
    redis_server.start()
    assert [t.content for t in RedisSessionStore(redis_url).get(session.id).turns] == ["question 7", "answer 7"]


def test_a_redis_restart_during_a_turn_loses_no_turn(redis_server, redis_url):
    """Issue 14's soak: a turn stored while Redis restarts waits for it instead of failing."""
    store = RedisSessionStore(redis_url)
    session = store.create("restart")
    store.get(session.id)  # the connection is open before the outage
    redis_server.stop()
    restart = threading.Timer(1.0, redis_server.start)
    restart.start()
    try:
        store.append(session.id, _exchange(1))
    finally:
        restart.join()
    assert [t.content for t in store.get(session.id).turns] == ["question 1", "answer 1"]


class ReplyDroppingProxy:
    """A TCP proxy to Redis that, once armed, forwards the next command containing ``marker`` and then
    closes the client's connection instead of passing Redis's reply on: the command ran, its reply is lost
    (what a Redis restart does to a command in flight)."""

    def __init__(self, port: int, marker: bytes) -> None:
        self.upstream, self.marker, self.armed, self.dropped = port, marker, False, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self.upstream)) as server:
            while data := client.recv(65536):
                server.sendall(data)
                reply = server.recv(65536)
                if self.armed and self.marker in data:
                    self.armed, self.dropped = False, self.dropped + 1
                    return  # the command ran; its reply never reaches the client
                client.sendall(reply)


def test_an_append_whose_reply_is_lost_is_retried_without_storing_the_turn_twice(redis_server, redis_url):
    """Issue 14's soak stored a turn twice: Redis ran the append, the reply was lost in its restart, the client
    retried. The retry carries the same token and adds nothing."""
    proxy = ReplyDroppingProxy(redis_server.port, b"EVALSHA")
    store = RedisSessionStore(f"redis://127.0.0.1:{proxy.port}/{redis_url.rsplit('/', 1)[1]}")
    session = store.create("lost reply")
    store.append(session.id, _exchange(1))
    proxy.armed = True
    store.append(session.id, _exchange(2))
    assert proxy.dropped == 1
    assert [t.content for t in store.get(session.id).turns] == ["question 1", "answer 1", "question 2", "answer 2"]
    store.delete(session.id)
    assert store.client.keys(f"{store.prefix}{session.id}*") == []


def test_redis_errors_never_show_the_url():
    store = RedisSessionStore(f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0", retry_s=0)
    with pytest.raises(UpstreamError) as err:
        store.recent()
    assert "hunter2-secret" not in str(err.value)


def test_open_session_store_follows_settings(tmp_path, redis_url):
    sqlite = open_session_store(Settings(home=tmp_path))
    assert isinstance(sqlite, SqliteSessionStore) and sqlite.path == tmp_path / "sessions.sqlite"
    redis_store = open_session_store(Settings(home=tmp_path, sessions_backend="redis", redis_url=redis_url))
    assert isinstance(redis_store, RedisSessionStore)
    assert redis_store.create("x").id in {s.id for s in redis_store.recent()}
    with pytest.raises(InvalidInput, match="MATLAS_REDIS_URL"):
        open_session_store(Settings(home=tmp_path, sessions_backend="redis"))



def test_each_owner_lists_only_its_own_sessions(store):
    ana, bob, mine = store.create("a", owner="ana"), store.create("b", owner="bob"), store.create("m")
    store.append(bob.id, _exchange(1))  # an update moves bob's session, in bob's listing only
    assert [s.id for s in store.recent(owner="ana")] == [ana.id]
    assert [(s.id, s.owner, s.turn_count) for s in store.recent(owner="bob")] == [(bob.id, "bob", 2)]
    assert [(s.id, s.owner) for s in store.recent()] == [(mine.id, "local")]
    assert store.get(ana.id).owner == "ana"
    store.delete(ana.id)
    assert store.recent(owner="ana") == [] and [s.id for s in store.recent(owner="bob")] == [bob.id]


def test_the_chat_service_hides_other_owners_sessions(store):
    from agents.sessions import ChatService

    service = ChatService(store=lambda: store, llm=lambda: None, agent=lambda llm, sid: None)
    theirs = store.create("theirs", owner="bob")
    store.append(theirs.id, _exchange(1))
    for call in (lambda: service.session(theirs.id, "ana"), lambda: service.delete(theirs.id, "ana"),
                 lambda: service.start(theirs.id, "and?", "ana")):
        with pytest.raises(SessionNotFound) as err:
            call()
        assert str(err.value) == f"unknown session {theirs.id!r}"  # as for an id that does not exist
    assert service.session(theirs.id, "bob").turn_count == 2  # still there, untouched
    assert service.sessions("ana") == [] and [s.id for s in service.sessions("bob")] == [theirs.id]


def test_sqlite_sessions_from_before_owners_belong_to_the_local_user(tmp_path):
    path = tmp_path / "sessions.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.executescript("CREATE TABLE sessions (id TEXT PRIMARY KEY, title TEXT, created_at TEXT NOT NULL, "
                         "updated_at TEXT NOT NULL); CREATE TABLE turns (session_id TEXT NOT NULL, seq INTEGER "
                         "NOT NULL, turn TEXT NOT NULL, PRIMARY KEY (session_id, seq));")
        db.execute("INSERT INTO sessions VALUES (?, 'old', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
                   ("a" * 32,))
        db.commit()
    store = SqliteSessionStore(path)
    assert [(s.id, s.owner) for s in store.recent()] == [("a" * 32, "local")]
    assert store.recent(owner="ana") == []
