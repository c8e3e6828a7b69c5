"""Chat sessions that persist: a ``SessionStore`` over SQLite (default) or Redis, and ``ChatService``,
which runs one agent turn over a stored session and stores the turn only once its answer is complete."""

from __future__ import annotations

import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, Protocol, TypeVar

from pydantic import BaseModel, Field

from matlas.errors import InvalidInput, MatlasError, SessionNotFound, UpstreamError
from retrieval.service import SearchService

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agents.chat import ChatAgent, ChatAnswer, ChatEvent
    from matlas.settings import Settings

__all__ = [
    "ChatService", "RedisSessionStore", "Session", "SessionInfo", "SessionStore", "SqliteSessionStore", "Turn",
    "open_session_store",
]

_ID = re.compile(r"[0-9a-f]{32}")
TITLE_CHARS = 80


def _now() -> datetime:
    return datetime.now(UTC)


class Turn(BaseModel):
    """One stored message of a session; assistant turns keep what grounded them."""

    role: Literal["user", "assistant"]
    content: str
    citations: list[str] = Field(default_factory=list, description="MP ids / document ids the answer cites.")
    ungrounded: list[str] = Field(default_factory=list, description="Numbers in the answer no tool returned.")
    steps: list[dict[str, Any]] = Field(default_factory=list, description="route / tool_call / tool_result events.")
    created_at: datetime = Field(default_factory=_now, description="When the turn was stored (UTC).")


class SessionInfo(BaseModel):
    """A session without its turns, as listed."""

    id: str = Field(description="uuid4 hex.")
    title: str | None = None
    created_at: datetime
    updated_at: datetime = Field(description="When the last turn was stored (UTC).")
    turn_count: int = 0


class Session(SessionInfo):
    """A session with its turns, oldest first."""

    turns: list[Turn] = Field(default_factory=list)


class SessionStore(Protocol):
    """Where sessions persist; every method raises ``SessionNotFound`` for an unknown id."""

    def create(self, title: str | None = None) -> SessionInfo:
        """A new empty session with a fresh uuid4 hex id."""

    def get(self, session_id: str) -> Session:
        """The session with all its turns."""

    def append(self, session_id: str, turns: Sequence[Turn]) -> None:
        """Add ``turns`` at the end, all or none."""

    def recent(self, limit: int = 20) -> list[SessionInfo]:
        """The ``limit`` most recently updated sessions, newest first."""

    def delete(self, session_id: str) -> None:
        """Remove the session and its turns."""


def _checked(session_id: str) -> str:
    """``session_id`` if it has the form of an id (so it is safe in keys), else ``SessionNotFound``."""
    if not _ID.fullmatch(session_id):
        raise SessionNotFound(f"unknown session {session_id[:64]!r} (ids are 32 hex digits)")
    return session_id


def _new_info(title: str | None) -> SessionInfo:
    now = _now()
    return SessionInfo(id=uuid.uuid4().hex, title=title, created_at=now, updated_at=now)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, title TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_update ON sessions (updated_at);
CREATE TABLE IF NOT EXISTS turns (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, turn TEXT NOT NULL, PRIMARY KEY (session_id, seq));
"""


class SqliteSessionStore:
    """Sessions in one SQLite file (WAL); a connection per call, so threads and processes may share it."""

    def __init__(self, path: Path, *, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        db.execute("PRAGMA foreign_keys = ON")
        return db

    @contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction (``BEGIN IMMEDIATE`` for writes), committed on success."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def create(self, title: str | None = None) -> SessionInfo:
        """A new empty session with a fresh uuid4 hex id."""
        info = _new_info(title)
        with self._transaction(write=True) as db:
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                       (info.id, title, info.created_at.isoformat(), info.updated_at.isoformat()))
        return info

    def get(self, session_id: str) -> Session:
        """The session with all its turns."""
        with self._transaction() as db:
            row = db.execute("SELECT id, title, created_at, updated_at FROM sessions WHERE id = ?",
                             (_checked(session_id),)).fetchone()
            if row is None:
                raise SessionNotFound(f"unknown session {session_id!r}")
            turns = [Turn.model_validate_json(t) for (t,) in db.execute(
                "SELECT turn FROM turns WHERE session_id = ? ORDER BY seq", (session_id,))]
        return Session(id=row[0], title=row[1], created_at=row[2], updated_at=row[3],
                       turn_count=len(turns), turns=turns)

    def append(self, session_id: str, turns: Sequence[Turn]) -> None:
        """Add ``turns`` at the end, all or none."""
        with self._transaction(write=True) as db:
            updated = db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?",
                                 (_now().isoformat(), _checked(session_id)))
            if updated.rowcount == 0:
                raise SessionNotFound(f"unknown session {session_id!r}")
            (start,) = db.execute("SELECT COUNT(*) FROM turns WHERE session_id = ?", (session_id,)).fetchone()
            db.executemany("INSERT INTO turns VALUES (?, ?, ?)",
                           [(session_id, start + i, t.model_dump_json()) for i, t in enumerate(turns)])

    def recent(self, limit: int = 20) -> list[SessionInfo]:
        """The ``limit`` most recently updated sessions, newest first."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT s.id, s.title, s.created_at, s.updated_at, "
                "(SELECT COUNT(*) FROM turns t WHERE t.session_id = s.id) "
                "FROM sessions s ORDER BY s.updated_at DESC LIMIT ?", (limit,)).fetchall()
        return [SessionInfo(id=r[0], title=r[1], created_at=r[2], updated_at=r[3], turn_count=r[4]) for r in rows]

    def delete(self, session_id: str) -> None:
        """Remove the session and its turns."""
        with self._transaction(write=True) as db:
            if db.execute("DELETE FROM sessions WHERE id = ?", (_checked(session_id),)).rowcount == 0:
                raise SessionNotFound(f"unknown session {session_id!r}")


P = ParamSpec("P")
R = TypeVar("R")


def _redis_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Turn Redis failures into ``UpstreamError`` (the message names the error, never the URL)."""

    @wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import redis

        try:
            return method(*args, **kwargs)
        except redis.RedisError as err:
            raise UpstreamError(f"session store (redis) failed: {type(err).__name__}: {err}") from None

    return wrapper


# KEYS: meta hash, turns list, recent zset; ARGV: id, updated_at, score, turn json...
_APPEND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if #ARGV > 3 then redis.call('RPUSH', KEYS[2], unpack(ARGV, 4)) end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
"""


class RedisSessionStore:
    """Sessions in Redis: a hash per session, a list of its turns, a sorted set by last update."""

    def __init__(self, url: str, *, prefix: str = "matlas:sessions:") -> None:
        import redis

        self.client = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix
        self._append = self.client.register_script(_APPEND)

    def _keys(self, session_id: str) -> tuple[str, str]:
        meta = self.prefix + _checked(session_id)
        return meta, meta + ":turns"

    @property
    def _recent_key(self) -> str:
        return self.prefix + "recent"

    @staticmethod
    def _info(session_id: str, meta: dict[str, str], turn_count: int) -> SessionInfo:
        return SessionInfo(id=session_id, title=meta.get("title"), created_at=meta["created_at"],
                           updated_at=meta["updated_at"], turn_count=turn_count)

    @_redis_errors
    def create(self, title: str | None = None) -> SessionInfo:
        """A new empty session with a fresh uuid4 hex id."""
        info = _new_info(title)
        meta, _ = self._keys(info.id)
        fields = {"created_at": info.created_at.isoformat(), "updated_at": info.updated_at.isoformat()}
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(meta, mapping=fields | ({"title": title} if title is not None else {}))
            pipe.zadd(self._recent_key, {info.id: info.updated_at.timestamp()})
            pipe.execute()
        return info

    @_redis_errors
    def get(self, session_id: str) -> Session:
        """The session with all its turns."""
        meta_key, turns_key = self._keys(session_id)
        with self.client.pipeline(transaction=True) as pipe:
            meta, raw_turns = pipe.hgetall(meta_key).lrange(turns_key, 0, -1).execute()
        if not meta:
            raise SessionNotFound(f"unknown session {session_id!r}")
        turns = [Turn.model_validate_json(t) for t in raw_turns]
        return Session(**self._info(session_id, meta, len(turns)).model_dump(), turns=turns)

    @_redis_errors
    def append(self, session_id: str, turns: Sequence[Turn]) -> None:
        """Add ``turns`` at the end, all or none (one Lua script)."""
        now = _now()
        meta, turns_key = self._keys(session_id)
        args = [session_id, now.isoformat(), now.timestamp(), *(t.model_dump_json() for t in turns)]
        if not self._append(keys=[meta, turns_key, self._recent_key], args=args):
            raise SessionNotFound(f"unknown session {session_id!r}")

    @_redis_errors
    def recent(self, limit: int = 20) -> list[SessionInfo]:
        """The ``limit`` most recently updated sessions, newest first."""
        ids = self.client.zrevrange(self._recent_key, 0, limit - 1) if limit > 0 else []
        with self.client.pipeline(transaction=True) as pipe:
            for session_id in ids:
                meta, turns = self._keys(session_id)
                pipe.hgetall(meta).llen(turns)
            replies = pipe.execute()
        pairs = zip(ids, replies[0::2], replies[1::2])
        return [self._info(session_id, meta, count) for session_id, meta, count in pairs if meta]

    @_redis_errors
    def delete(self, session_id: str) -> None:
        """Remove the session and its turns."""
        meta, turns = self._keys(session_id)
        with self.client.pipeline(transaction=True) as pipe:
            removed, _, _ = pipe.delete(meta).delete(turns).zrem(self._recent_key, session_id).execute()
        if not removed:
            raise SessionNotFound(f"unknown session {session_id!r}")


def open_session_store(settings: Settings) -> SessionStore:
    """The store ``settings.sessions_backend`` names: SQLite at HOME/sessions.sqlite, or Redis at redis_url."""
    if settings.sessions_backend == "redis":
        if not settings.redis_url:
            raise InvalidInput("sessions_backend 'redis' needs a Redis URL (set MATLAS_REDIS_URL)")
        return RedisSessionStore(settings.redis_url)
    return SqliteSessionStore(settings.home / "sessions.sqlite")


class ChatService:
    """Chat turns over stored sessions, for the API and the CLI; the store and the LLM are built on first use."""

    def __init__(
        self, settings: Settings, *, llm: BaseChatModel | None = None, search: SearchService | None = None
    ) -> None:
        self._settings, self._llm = settings, llm
        self._search = search or SearchService.from_settings(settings)  # encoders load once, not per turn
        self._store: SessionStore | None = None
        self._store_lock, self._llm_lock = threading.Lock(), threading.Lock()

    @property
    def store(self) -> SessionStore:
        """The session store of the settings (opened once)."""
        with self._store_lock:
            if self._store is None:
                self._store = open_session_store(self._settings)
            return self._store

    @property
    def llm(self) -> BaseChatModel:
        """The injected chat model, or the settings' backend (built once: loading a local model is slow)."""
        with self._llm_lock:
            if self._llm is None:
                from agents.llm import chat_model
                from matlas.agents_wiring import llm_config

                self._llm = chat_model(llm_config(self._settings))
            return self._llm

    def start(self, session_id: str | None, message: str) -> tuple[Session, Iterator[ChatEvent]]:
        """The session of a turn (``session_id``'s, or a new one titled after ``message``) and its events.

        Raises before any event for an unknown session or a missing LLM backend; the turn is stored
        just before the ``answer`` event, and never when the turn ends in ``error``.
        """
        from matlas.agents_wiring import chat_agent as build_chat_agent

        session = self.store.get(session_id) if session_id is not None else None
        llm = self.llm
        if session is None:
            title = message.strip().splitlines()[0][:TITLE_CHARS] if message.strip() else None
            session = Session(**self.store.create(title).model_dump())
        agent = build_chat_agent(self._settings, llm=llm, session_id=session.id, search=self._search)
        return session, self._turn(agent, session, message)

    def _turn(self, agent: ChatAgent, session: Session, message: str) -> Iterator[ChatEvent]:
        from agents.chat import ChatAnswer, ChatEvent, ChatTurn

        history = [ChatTurn(role=t.role, content=t.content, steps=t.steps, ungrounded=t.ungrounded)
                   for t in session.turns]
        try:
            for event in agent.stream(history, message):
                if event.event == "answer":
                    answer = ChatAnswer.model_validate(event.data)
                    self.store.append(session.id, [Turn(role="user", content=message),
                                                   Turn(role="assistant", **answer.model_dump())])
                yield event
        except MatlasError as err:
            yield ChatEvent(event="error", data={"detail": str(err)})

    def ask(self, session_id: str | None, message: str) -> tuple[Session, ChatAnswer]:
        """Run a turn to its stored answer; an agent error raises ``UpstreamError``."""
        from agents.chat import ChatAnswer

        session, events = self.start(session_id, message)
        for event in events:
            if event.event == "answer":
                return session, ChatAnswer.model_validate(event.data)
            if event.event == "error":
                raise UpstreamError(event.data["detail"])
        raise UpstreamError("the agent ended without an answer")
