"""A cap on work running at once in a process (chat turns, generations): past it, ``Busy`` at once.

``Slots.hold(iterator)`` keeps a slot until a streamed result is exhausted, closed or dropped, so
a stream that a client abandons gives its slot back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

from matlas.errors import Busy

__all__ = ["Slots"]

T = TypeVar("T")


class Slots:
    """``capacity`` slots of ``what``; ``acquire`` never waits.

    >>> slots = Slots(1, "chat turns")
    >>> held = slots.hold(iter([1, 2]))
    >>> slots.acquire()
    Traceback (most recent call last):
    ...
    matlas.errors.Busy: all 1 chat turns slots are in use; retry in 2 s
    >>> list(held), slots.in_use
    ([1, 2], 0)
    """

    def __init__(self, capacity: int, what: str, *, retry_after_s: float = 2.0) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity, self.what, self.retry_after_s = capacity, what, retry_after_s
        self._free = threading.BoundedSemaphore(capacity)
        self._lock = threading.Lock()
        self.in_use = 0

    def acquire(self) -> None:
        """Take a slot, or raise ``Busy`` (503 with ``Retry-After``) when all are taken."""
        if not self._free.acquire(blocking=False):
            raise Busy(f"all {self.capacity} {self.what} slots are in use; retry in {self.retry_after_s:.0f} s",
                       self.retry_after_s)
        with self._lock:
            self.in_use += 1

    def release(self) -> None:
        """Give a slot back."""
        with self._lock:
            self.in_use -= 1
        self._free.release()

    def hold(self, items: Iterator[T]) -> Held[T]:
        """Take a slot for as long as ``items`` is being consumed (``Busy`` if none is free)."""
        self.acquire()
        return Held(items, self)


class Held(Generic[T]):
    """An iterator that gives its slot back once: when exhausted, closed, or garbage-collected."""

    def __init__(self, items: Iterator[T], slots: Slots) -> None:
        self._items, self._slots, self._open = items, slots, True

    def __iter__(self) -> Held[T]:
        return self

    def __next__(self) -> T:
        try:
            return next(self._items)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the underlying iterator (if it can be closed) and give the slot back."""
        if self._open:
            self._open = False
            try:
                close = getattr(self._items, "close", None)
                if close is not None:
                    close()
            finally:
                self._slots.release()

    def __del__(self) -> None:
        self.close()
