"""Chat sessions that persist: the models, the SQLite (default) and Redis stores, and ``ChatService``.

- ``models``: ``SessionInfo``, ``Session`` (its ``Turn``s, from ``agents.turns``), the ``SessionStore`` protocol.
- ``sqlite_store`` / ``redis_store``: the two stores (same protocol, same turn JSON).
- ``service``: ``ChatService``, one agent turn over a stored session.
"""

from agents.sessions.models import Session, SessionInfo, SessionStore, Turn
from agents.sessions.redis_store import RedisSessionStore
from agents.sessions.service import ChatService
from agents.sessions.sqlite_store import SqliteSessionStore

__all__ = ["ChatService", "RedisSessionStore", "Session", "SessionInfo", "SessionStore", "SqliteSessionStore", "Turn"]
