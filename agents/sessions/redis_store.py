"""Sessions in Redis: shared by every API process of a deployment.

A restart or failover of Redis is ridden out: commands that cannot connect are retried for
``retry_s`` seconds (``RETRY_S`` by default) before the store gives up with ``UpstreamError``, so
that a chat turn answered during a short outage is still stored (issue 14's soak lost them).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from functools import wraps
from typing import ParamSpec, TypeVar

import redis
from redis.backoff import ConstantBackoff
from redis.retry import Retry

from agents.sessions.models import (
    LOCAL_OWNER,
    Session,
    SessionInfo,
    Turn,
    checked_id,
    new_info,
    now,
)
from matlas.errors import SessionNotFound, UpstreamError

__all__ = ["RETRY_S", "RedisSessionStore"]

RETRY_S = 10.0  # how long a command waits for Redis to come back before the store fails
_RETRY_EVERY_S = 0.25

P = ParamSpec("P")
R = TypeVar("R")


def _redis_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Turn Redis failures into ``UpstreamError`` (the message names the error, never the URL)."""

    @wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except redis.RedisError as err:
            raise UpstreamError(f"session store (redis) failed: {type(err).__name__}: {err}") from None

    return wrapper


# KEYS: meta hash, turns list, the local owner's recent zset (others: that key + ':' + owner), the set of
# applied append tokens; ARGV: id, updated_at, score, this append's token, turn json...
# The token makes a retried append idempotent: when Redis ran the script but the connection died before
# the reply (a restart), the client's retry finds its token applied and adds nothing (issue 14's soak
# stored such a turn twice).
_APPEND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SADD', KEYS[4], ARGV[4]) == 0 then return 1 end
if #ARGV > 4 then redis.call('RPUSH', KEYS[2], unpack(ARGV, 5)) end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2])
local owner = redis.call('HGET', KEYS[1], 'owner')
local recent = KEYS[3]
if owner and owner ~= 'local' then recent = KEYS[3] .. ':' .. owner end
redis.call('ZADD', recent, ARGV[3], ARGV[1])
return 1
"""


class RedisSessionStore:
    """Sessions in Redis: a hash per session, a list of its turns, a sorted set by last update per owner
    (``recent`` for the local user, as before sessions had owners; ``recent:<owner>`` for each key)."""

    def __init__(self, url: str, *, prefix: str = "matlas:sessions:", retry_s: float = RETRY_S) -> None:
        """``retry_s``: how long a command that cannot reach Redis is retried (0: fail at once)."""
        retry = Retry(ConstantBackoff(_RETRY_EVERY_S), math.ceil(retry_s / _RETRY_EVERY_S),
                      supported_errors=(redis.ConnectionError, redis.TimeoutError, ConnectionError, TimeoutError))
        self.client = redis.Redis.from_url(url, decode_responses=True, retry=retry, socket_connect_timeout=5.0,
                                           socket_timeout=30.0)
        self.prefix = prefix
        self._append = self.client.register_script(_APPEND)

    def _keys(self, session_id: str) -> tuple[str, str]:
        meta = self.prefix + checked_id(session_id)
        return meta, meta + ":turns"

    @staticmethod
    def _applied(meta_key: str) -> str:
        return meta_key + ":applied"

    @property
    def _recent_key(self) -> str:
        return self.prefix + "recent"

    def _recent_of(self, owner: str) -> str:
        return self._recent_key if owner == LOCAL_OWNER else f"{self._recent_key}:{owner}"

    @staticmethod
    def _info(session_id: str, meta: dict[str, str], turn_count: int) -> SessionInfo:
        return SessionInfo(id=session_id, title=meta.get("title"), created_at=meta["created_at"],
                           updated_at=meta["updated_at"], turn_count=turn_count,
                           owner=meta.get("owner", LOCAL_OWNER))

    @_redis_errors
    def create(self, title: str | None = None, owner: str = LOCAL_OWNER) -> SessionInfo:
        """A new empty session of ``owner`` with a fresh uuid4 hex id."""
        info = new_info(title, owner)
        meta, _ = self._keys(info.id)
        fields = {"created_at": info.created_at.isoformat(), "updated_at": info.updated_at.isoformat(), "owner": owner}
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(meta, mapping=fields | ({"title": title} if title is not None else {}))
            pipe.zadd(self._recent_of(owner), {info.id: info.updated_at.timestamp()})
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
        stamp = now()
        meta, turns_key = self._keys(session_id)
        token = uuid.uuid4().hex  # one per call: the client's retries of this call carry the same one
        args = [session_id, stamp.isoformat(), stamp.timestamp(), token, *(t.model_dump_json() for t in turns)]
        if not self._append(keys=[meta, turns_key, self._recent_key, self._applied(meta)], args=args):
            raise SessionNotFound(f"unknown session {session_id!r}")

    @_redis_errors
    def recent(self, limit: int = 20, owner: str = LOCAL_OWNER) -> list[SessionInfo]:
        """The ``limit`` most recently updated sessions of ``owner``, newest first."""
        ids = self.client.zrevrange(self._recent_of(owner), 0, limit - 1) if limit > 0 else []
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
        owner = self.client.hget(meta, "owner") or LOCAL_OWNER
        with self.client.pipeline(transaction=True) as pipe:
            removed, *_ = pipe.delete(meta).delete(turns).delete(self._applied(meta)).zrem(
                self._recent_of(owner), session_id).execute()
        if not removed:
            raise SessionNotFound(f"unknown session {session_id!r}")
