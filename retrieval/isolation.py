"""Run a function in child processes, so that a crash or an overrun costs one call, not the caller.

``IsolatedCalls(fn, workers=2, timeout_s=10)`` keeps ``workers`` child processes, forked from a
forkserver that imported ``fn``'s module once (so a new child starts in milliseconds). Each call
sends the arguments to an idle child and waits at most ``timeout_s``: a child that dies (a
segfault in native code) or overruns is killed and replaced, and the call raises
``InvalidInput`` with the reason; exceptions ``fn`` raises come back as they are. The API runs
structure featurisation (pymatgen, spglib) this way.
"""

from __future__ import annotations

import importlib
import multiprocessing
import queue
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from matlas.errors import InvalidInput, MatlasError

__all__ = ["IsolatedCalls"]


def _serve(conn: Connection, module: str, name: str) -> None:
    fn = getattr(importlib.import_module(module), name)
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = ("ok", fn(*args))
        except MatlasError as err:
            reply = ("err", type(err), str(err))
        except Exception as err:  # noqa: BLE001 - any failure of fn is the caller's answer, not the child's end
            reply = ("err", InvalidInput, f"{type(err).__name__}: {str(err)[:200]}")
        conn.send(reply)


class _Child:
    def __init__(self, ctx: Any, module: str, name: str) -> None:
        self.conn, child_end = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child_end, module, name), daemon=True)
        self.process.start()
        child_end.close()

    def stop(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class IsolatedCalls:
    """``fn`` (a module-level function) called in one of ``workers`` child processes, ``timeout_s`` each."""

    def __init__(self, fn: Callable[..., Any], *, workers: int = 2, timeout_s: float = 10.0, what: str = "the call") -> None:
        self.module, self.name = fn.__module__, fn.__qualname__
        self.timeout_s, self.what = timeout_s, what
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload([self.module])
        self._idle: queue.Queue[_Child | None] = queue.Queue()
        for _ in range(workers):
            self._idle.put(None)  # started on first use
        self._children: set[_Child] = set()
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, *args: Any) -> Any:
        """``fn(*args)`` in a child; ``InvalidInput`` if the child crashes or takes longer than ``timeout_s``."""
        child = self._idle.get()
        try:
            if child is None or not child.process.is_alive():
                child = self._start()
            try:
                child.conn.send(args)
                if not child.conn.poll(self.timeout_s):
                    self._drop(child)
                    child = None
                    raise InvalidInput(f"{self.what} took longer than {self.timeout_s:g} s and was stopped")
                reply = child.conn.recv()
            except (EOFError, OSError):
                child.process.join(timeout=1)
                code = child.process.exitcode
                self._drop(child)
                child = None
                raise InvalidInput(f"{self.what} failed: the analysis crashed (exit code {code})") from None
        finally:
            self._idle.put(child)
        if reply[0] == "ok":
            return reply[1]
        raise reply[1](reply[2])

    def _start(self) -> _Child:
        with self._lock:
            if self._closed:
                raise InvalidInput(f"{self.what} is not available: the service is shutting down")
            child = _Child(self._ctx, self.module, self.name)
            self._children.add(child)
            return child

    def _drop(self, child: _Child) -> None:
        child.stop()
        with self._lock:
            self._children.discard(child)

    def close(self) -> None:
        """Stop every child."""
        with self._lock:
            self._closed = True
            children, self._children = list(self._children), set()
        for child in children:
            child.stop()
