"""ASGI middleware of the API: strict JSON bodies, and ``OPTIONS`` / ``405`` with a complete ``Allow``.

``StrictJSON`` reads a JSON request body once and refuses, with a 422 in the shape of a
validation error, what Python's ``json`` would let through but no model can carry: invalid
UTF-8, ``NaN`` / ``Infinity`` and numbers that overflow to them (``1e400``), lone surrogates
(``"\\ud800"``), integers past Python's digit limit. The body is then replayed to the app.

``BodyLimit`` answers 413 to a body over ``max_bytes``: at once from ``Content-Length``, or as
soon as a streamed (chunked) body passes the limit, before anything reads it whole.

``AllowedMethods`` answers ``OPTIONS`` (204) and wrong methods (405) with every method the path
serves in ``Allow``; Starlette alone lists only the first matching route's methods.

``Deadline`` answers 503 (with ``Retry-After``) when a response has not started within
``timeout_s``; a stream, once started, goes on. The work itself may still finish (a thread cannot
be stopped), but the client is not kept waiting and what it would have sent is dropped.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from typing import Any

import anyio
from starlette.responses import JSONResponse, Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AllowedMethods", "BodyLimit", "Deadline", "StrictJSON"]

log = logging.getLogger(__name__)

_BODY_METHODS = {"POST", "PUT", "PATCH"}
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}


class _Rejected(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _Rejected(f"{name} is not a JSON number; send finite numbers only")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Rejected(f"number {text[:40]} is out of range (not finite)")
    return value


def _check_strings(value: Any, depth: int = 0) -> None:
    if depth > 64:
        raise _Rejected("JSON nested deeper than 64 levels")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _Rejected("a string holds a lone surrogate (not a Unicode character)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, depth + 1)
            _check_strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, depth + 1)


def check_json(body: bytes) -> None:
    """Raise ``ValueError`` with a reason unless ``body`` is strict JSON (see the module docstring)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _Rejected(f"request body is not valid UTF-8 (byte {err.start})") from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except _Rejected:
        raise
    except (ValueError, RecursionError) as err:
        raise _Rejected(f"request body is not valid JSON: {str(err)[:120]}") from None
    _check_strings(value)


def _is_json(scope: Scope) -> bool:
    for key, value in scope.get("headers", ()):
        if key == b"content-type":
            return value.split(b";")[0].strip().lower().endswith(b"json")
    return False


class StrictJSON:
    """Refuse non-strict JSON bodies with a 422 before any route sees them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body:
            try:
                check_json(body)
            except _Rejected as err:
                detail = [{"loc": ["body"], "msg": str(err), "type": "json_invalid"}]
                await JSONResponse({"detail": detail}, status_code=422)(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies larger than ``max_bytes`` with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    def _response(self) -> Response:
        return JSONResponse({"detail": f"request body is larger than {self.max_bytes} bytes"}, status_code=413)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", ()):
            if key == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._response()(scope, receive, send)
                return
        seen, started = 0, False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if started:
                raise
            await self._response()(scope, receive, send)


class AllowedMethods:
    """``OPTIONS`` -> 204 and wrong method -> 405, both with ``Allow`` listing every method of the path.

    The paths and methods are those of the OpenAPI schema (``paths_of()``), read on first use.
    """

    def __init__(self, app: ASGIApp, paths_of: Callable[[], dict[str, dict[str, Any]]]) -> None:
        self.app, self.paths_of = app, paths_of
        self._table: list[tuple[re.Pattern[str], set[str]]] | None = None

    def _allowed(self, path: str) -> set[str]:
        if self._table is None:
            self._table = [(compile_path(template)[0], {m.upper() for m in item if m.upper() in _METHODS})
                           for template, item in self.paths_of().items()]
        allowed: set[str] = set()
        for regex, methods in self._table:
            if regex.match(path):
                allowed |= methods
        return allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed = self._allowed(scope["path"])
        if not allowed or (scope["method"] in allowed and scope["method"] != "OPTIONS"):
            await self.app(scope, receive, send)
            return
        allow = ", ".join(sorted(allowed | {"OPTIONS"}))
        if scope["method"] == "OPTIONS":
            response: Response = Response(status_code=204, headers={"Allow": allow})
        else:
            response = JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": allow})
        await response(scope, receive, send)


class Deadline:
    """503 for a request under ``prefix`` whose response has not started within ``timeout_s`` seconds."""

    def __init__(self, app: ASGIApp, timeout_s: float, prefix: str = "/v1/") -> None:
        self.app, self.timeout_s, self.prefix = app, timeout_s, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        started, late, error = anyio.Event(), False, None

        async def guarded(message: Message) -> None:
            if late:
                return  # the client already has its 503
            if message["type"] == "http.response.start":
                started.set()
            await send(message)

        async def run() -> None:
            nonlocal error
            try:
                await self.app(scope, receive, guarded)
            except Exception as exc:  # noqa: BLE001 - re-raised below, outside the task group (no ExceptionGroup)
                error = exc
            finally:
                started.set()

        async with anyio.create_task_group() as group:
            group.start_soon(run)
            with anyio.move_on_after(self.timeout_s):
                await started.wait()
            if not started.is_set():
                late = True
                detail = f"no response within the request timeout of {self.timeout_s:g} s; retry later"
                await JSONResponse({"detail": detail}, status_code=503,
                                   headers={"Retry-After": str(max(1, math.ceil(self.timeout_s / 4)))})(
                    scope, receive, send)
                group.cancel_scope.cancel()  # stops async work now; a worker thread runs to its end
        if error is not None:
            if not late:
                raise error
            log.error("%s %s failed after its deadline: %r", scope["method"], scope["path"], error)
