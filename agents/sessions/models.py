"""What a session is: its listing (``SessionInfo``), its turns (``Session``) and the store protocol."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel, Field

from agents.turns import Turn
from matlas.errors import SessionNotFound

__all__ = ["LOCAL_OWNER", "Session", "SessionInfo", "SessionStore", "Turn", "checked_id", "new_info", "now"]

_ID = re.compile(r"[0-9a-f]{32}")
LOCAL_OWNER = "local"


def now() -> datetime:
    """The current UTC time (when turns are stored)."""
    return datetime.now(UTC)


class SessionInfo(BaseModel):
    """A session without its turns, as listed."""

    id: str = Field(description="uuid4 hex.")
    title: str | None = None
    created_at: datetime
    updated_at: datetime = Field(description="When the last turn was stored (UTC).")
    turn_count: int = 0
    owner: str = Field(LOCAL_OWNER, description="The API key name that created it ('local' when keyless).")


class Session(SessionInfo):
    """A session with its turns, oldest first."""

    turns: list[Turn] = Field(default_factory=list)


class SessionStore(Protocol):
    """Where sessions persist; every method raises ``SessionNotFound`` for an unknown id.

    Each session has an ``owner``; ``recent`` lists one owner's sessions. Whether a caller may see
    a session is ``ChatService``'s check, which treats another owner's session as unknown.
    """

    def create(self, title: str | None = None, owner: str = LOCAL_OWNER) -> SessionInfo:
        """A new empty session of ``owner`` with a fresh uuid4 hex id."""

    def get(self, session_id: str) -> Session:
        """The session with all its turns."""

    def append(self, session_id: str, turns: Sequence[Turn]) -> None:
        """Add ``turns`` at the end, all or none."""

    def recent(self, limit: int = 20, owner: str = LOCAL_OWNER) -> list[SessionInfo]:
        """The ``limit`` most recently updated sessions of ``owner``, newest first."""

    def delete(self, session_id: str) -> None:
        """Remove the session and its turns."""


def checked_id(session_id: str) -> str:
    """``session_id`` if it has the form of an id (so it is safe in keys), else ``SessionNotFound``."""
    if not _ID.fullmatch(session_id):
        raise SessionNotFound(f"unknown session {session_id[:64]!r} (ids are 32 hex digits)")
    return session_id


def new_info(title: str | None, owner: str = LOCAL_OWNER) -> SessionInfo:
    """A new empty session's listing with a fresh uuid4 hex id."""
    stamp = now()
    return SessionInfo(id=uuid.uuid4().hex, title=title, created_at=stamp, updated_at=stamp, owner=owner)
