"""The API's error bodies, their OpenAPI declarations and the handlers that produce them.

Every error is ``{"detail": ...}``: a string (400, 401, 403, 404, 405, 429, 502, 503 and the 422s of checks that
need the data, e.g. an unreadable structure), or for a request that does not match the schema a
list of :class:`FieldError`. Echoed input is cut to ``MAX_ECHO`` characters and escaped, so that
a large, non-finite or unencodable value never makes the error itself fail; no server path or
traceback reaches a client.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from matlas.errors import MatlasError

__all__ = ["ErrorResponse", "FieldError", "ValidationErrorResponse", "field_errors", "install_error_handlers",
           "responses", "retry_headers", "safe_text"]

log = logging.getLogger(__name__)

MAX_ECHO = 100
MAX_MESSAGE = 1000


class ErrorResponse(BaseModel):
    """An error with a reason for people."""

    detail: str = Field(description="What was wrong, e.g. \"unknown index 'x': ...\".")


class FieldError(BaseModel):
    """One way a request does not match the schema."""

    loc: list[str | int] = Field(description="Where: ['body', 'k'], ['path', 'name'], ['query', 'limit'] ...")
    msg: str = Field(description="What is wrong there.")
    type: str = Field(description="Error type, e.g. 'int_type', 'string_too_long', 'json_invalid'.")
    input: str | None = Field(None, description=f"The value sent, as JSON text cut to {MAX_ECHO} characters.")


class ValidationErrorResponse(BaseModel):
    """422: the request does not match the schema (a list of field errors), or its data fails a
    check the schema cannot state (a string: blank text, an unreadable or degenerate structure ...)."""

    detail: str | list[FieldError]


_DESCRIPTIONS = {
    400: "Bad request.",
    401: "No valid API key: send `Authorization: Bearer <key>` (with `WWW-Authenticate: Bearer`).",
    403: "The key's scope does not allow this (an admin operation, or exact search over a large index "
         "with a read key).",
    404: "Not found: the index, session or task does not exist.",
    413: "The request body is too large.",
    422: "Invalid input: the request does not match the schema, or its data fails a check.",
    429: "The key is over its rate limit; retry after `Retry-After` seconds.",
    502: "An upstream service (Materials Project, an LLM endpoint) failed.",
    503: "A service this request needs is not configured or not reachable now, every slot of a capped "
         "resource (chat turns, generations) is in use, or the response did not start within the "
         "request timeout; retry later (`Retry-After` where known).",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error ``codes``, with their body models."""
    return {code: {"model": ValidationErrorResponse if code == 422 else ErrorResponse,
                   "description": _DESCRIPTIONS[code], **({"headers": _RETRY_AFTER} if code in (429, 503) else {})}
            for code in codes}


def retry_headers(exc: Exception) -> dict[str, str] | None:
    """``Retry-After`` (whole seconds, at least 1) for errors that say when to retry, else None."""
    seconds = getattr(exc, "retry_after_s", None)
    return None if seconds is None else {"Retry-After": str(max(1, math.ceil(seconds)))}


def safe_text(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters, with anything UTF-8 cannot carry (lone surrogates) escaped."""
    text = text if len(text) <= limit else text[:limit] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _echo(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=True, allow_nan=False, default=str)
    except (ValueError, TypeError, RecursionError):
        text = repr(value)
    return safe_text(text, MAX_ECHO)


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic / FastAPI errors as :class:`FieldError` dicts, safe to serialise."""
    out = []
    for err in errors[:20]:
        item = {"loc": [x if isinstance(x, int) else safe_text(str(x), MAX_ECHO) for x in err.get("loc", ())],
                "msg": safe_text(str(err.get("msg", "")), 300), "type": safe_text(str(err.get("type", "")), 60)}
        if "input" in err and err.get("type") != "missing":
            item["input"] = _echo(err["input"])
        out.append(item)
    return out


def install_error_handlers(app: FastAPI, *, private: Sequence[Path] = ()) -> None:
    """Translate typed errors, validation errors, HTTP errors and bugs into ``{"detail": ...}`` bodies.

    Server directories in ``private`` (the data home, index root, snapshots) that a message of a
    typed error names are replaced by their last component.
    """
    absolute = {p.resolve() for p in private} | {p for p in private if p.is_absolute()}
    hidden = sorted((str(p) for p in absolute if len(p.parts) > 2), key=len, reverse=True)

    def scrub(text: str) -> str:
        for path in hidden:
            text = text.replace(path, f"<{Path(path).name}>")
        return safe_text(text)

    @app.exception_handler(MatlasError)
    async def _matlas_error(request: Request, exc: MatlasError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"detail": scrub(str(exc))},
                            headers=retry_headers(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": field_errors(list(exc.errors()))})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"detail": safe_text(str(exc.detail))},
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal error (logged on the server)"})
