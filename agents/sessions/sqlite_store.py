"""Sessions in one SQLite file: the embedded default store."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from agents.sessions.models import (
    LOCAL_OWNER,
    Session,
    SessionInfo,
    Turn,
    checked_id,
    new_info,
    now,
)
from matlas.errors import SessionNotFound

__all__ = ["SqliteSessionStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, title TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT 'local');
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
            columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
            if "owner" not in columns:  # a store from before sessions had owners: they were the local user's
                db.execute("ALTER TABLE sessions ADD COLUMN owner TEXT NOT NULL DEFAULT 'local'")
            db.execute("CREATE INDEX IF NOT EXISTS sessions_by_owner ON sessions (owner, updated_at)")

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

    def create(self, title: str | None = None, owner: str = LOCAL_OWNER) -> SessionInfo:
        """A new empty session of ``owner`` with a fresh uuid4 hex id."""
        info = new_info(title, owner)
        with self._transaction(write=True) as db:
            db.execute("INSERT INTO sessions (id, title, created_at, updated_at, owner) VALUES (?, ?, ?, ?, ?)",
                       (info.id, title, info.created_at.isoformat(), info.updated_at.isoformat(), owner))
        return info

    def get(self, session_id: str) -> Session:
        """The session with all its turns."""
        with self._transaction() as db:
            row = db.execute("SELECT id, title, created_at, updated_at, owner FROM sessions WHERE id = ?",
                             (checked_id(session_id),)).fetchone()
            if row is None:
                raise SessionNotFound(f"unknown session {session_id!r}")
            turns = [Turn.model_validate_json(t) for (t,) in db.execute(
                "SELECT turn FROM turns WHERE session_id = ? ORDER BY seq", (session_id,))]
        return Session(id=row[0], title=row[1], created_at=row[2], updated_at=row[3], owner=row[4],
                       turn_count=len(turns), turns=turns)

    def append(self, session_id: str, turns: Sequence[Turn]) -> None:
        """Add ``turns`` at the end, all or none."""
        with self._transaction(write=True) as db:
            updated = db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?",
                                 (now().isoformat(), checked_id(session_id)))
            if updated.rowcount == 0:
                raise SessionNotFound(f"unknown session {session_id!r}")
            (start,) = db.execute("SELECT COUNT(*) FROM turns WHERE session_id = ?", (session_id,)).fetchone()
            db.executemany("INSERT INTO turns VALUES (?, ?, ?)",
                           [(session_id, start + i, t.model_dump_json()) for i, t in enumerate(turns)])

    def recent(self, limit: int = 20, owner: str = LOCAL_OWNER) -> list[SessionInfo]:
        """The ``limit`` most recently updated sessions of ``owner``, newest first."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT s.id, s.title, s.created_at, s.updated_at, "
                "(SELECT COUNT(*) FROM turns t WHERE t.session_id = s.id) "
                "FROM sessions s WHERE s.owner = ? ORDER BY s.updated_at DESC LIMIT ?", (owner, limit)).fetchall()
        return [SessionInfo(id=r[0], title=r[1], created_at=r[2], updated_at=r[3], turn_count=r[4], owner=owner)
                for r in rows]

    def delete(self, session_id: str) -> None:
        """Remove the session and its turns."""
        with self._transaction(write=True) as db:
            if db.execute("DELETE FROM sessions WHERE id = ?", (checked_id(session_id),)).rowcount == 0:
                raise SessionNotFound(f"unknown session {session_id!r}")
