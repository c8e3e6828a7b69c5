"""Non-blocking exclusive locks for jobs that must not overlap (one rebuild per index at a time).

``redis_lease`` works across machines: the Redis key has a short TTL that a background thread
renews while the holder runs, so a killed holder's lock expires after at most ``ttl_s``.
``file_lease`` is the embedded default (one machine): an ``flock`` the kernel drops when its
holder dies. Both yield ``True`` to the holder and ``False`` when someone else holds the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import redis
from redis.exceptions import LockError

__all__ = ["file_lease", "redis_lease"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def redis_lease(client: redis.Redis, key: str, ttl_s: float) -> Iterator[bool]:
    """Hold Redis lock ``key`` (TTL ``ttl_s``, renewed every ``ttl_s / 3``) for the body, if free."""
    lock = client.lock(key, timeout=ttl_s, blocking=False, thread_local=False)
    if not lock.acquire():
        yield False
        return
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl_s / 3):
            try:
                lock.reacquire()  # TTL back to ttl_s
            except LockError:
                log.warning("lock %s expired while held; another holder may run concurrently", key)
                return
            except redis.RedisError as err:  # Redis away for a moment: try again next period
                log.warning("could not renew lock %s: %s", key, err)

    renewer = threading.Thread(target=renew, name=f"renew {key}", daemon=True)
    renewer.start()
    try:
        yield True
    finally:
        stop.set()
        renewer.join()
        with contextlib.suppress(LockError, redis.RedisError):  # expired, or Redis away: the TTL ends it
            lock.release()


@contextlib.contextmanager
def file_lease(path: Path) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` for the body, if free."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
