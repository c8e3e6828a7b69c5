"""Who is asking, for every front door of the app: the API (``/v1``), MCP (``/mcp``) and the web pages.

``Authenticate`` (ASGI) reads a bearer token (``Authorization: Bearer <key>``) or the web app's
``matlas_key`` cookie, checks it against the ``KeyRing`` and puts the ``Principal`` in the request
scope. Without configured keys everyone is ``LOCAL`` (admin; ``matlas serve`` then binds loopback
only). With keys, a request without a valid one is refused before its body is read: 401 with
``WWW-Authenticate: Bearer`` on ``/v1`` and ``/mcp``, a redirect to ``/login`` for pages.
``/healthz``, the OpenAPI documents, static files and ``/login`` stay open.

Scopes are checked per route by the ``reader`` and ``admin`` dependencies (403 for a read key on
an admin route), which also declare the bearer scheme in the OpenAPI schema.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from matlas.errors import Forbidden
from matlas.security.keys import LOCAL, KeyRing, Principal

__all__ = ["COOKIE", "PRINCIPAL", "AdminDep", "Authenticate", "ReaderDep", "admin", "principal_of", "reader"]

COOKIE = "matlas_key"
PRINCIPAL = "matlas.principal"  # the scope key Authenticate sets
OPEN_PATHS = frozenset({"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/login", "/logout",
                        "/favicon.ico"})
OPEN_PREFIXES = ("/static/",)
API_PREFIXES = ("/v1/", "/mcp")


def _token(scope: Scope) -> str | None:
    """The bearer token of the request, else the ``matlas_key`` cookie's value, else None."""
    cookie = None
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
        elif key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                name, _, text = part.strip().partition("=")
                if name == COOKIE and text:
                    cookie = text
    return cookie


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _is_api(path: str) -> bool:
    return path.startswith(API_PREFIXES) or path == "/v1"


def refusal(scope: Scope, presented: bool) -> Response:
    """The answer to a request without a valid key: 401 (API, MCP, htmx) or a redirect to ``/login`` (pages)."""
    path = scope["path"]
    if _is_api(path):
        detail = ("invalid API key" if presented else
                  "an API key is required: send 'Authorization: Bearer <key>'")
        challenge = 'Bearer realm="matlas"' + (', error="invalid_token"' if presented else "")
        return JSONResponse({"detail": detail}, status_code=401, headers={"WWW-Authenticate": challenge})
    headers = {k.lower(): v for k, v in scope.get("headers", ())}
    target = "/login?next=" + quote(path + ("?" + scope["query_string"].decode("latin-1")
                                            if scope.get("query_string") else ""), safe="")
    if b"hx-request" in headers or scope["method"] not in ("GET", "HEAD"):
        return Response("sign in first", status_code=401, media_type="text/plain",
                        headers={"HX-Redirect": target, "WWW-Authenticate": 'Bearer realm="matlas"'})
    return RedirectResponse(target, status_code=303)


class Authenticate:
    """Put the request's ``Principal`` in ``scope[PRINCIPAL]``; refuse unauthenticated requests to closed paths."""

    def __init__(self, app: ASGIApp, keys: KeyRing) -> None:
        self.app, self.keys = app, keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if not self.keys:
            scope[PRINCIPAL] = LOCAL
            await self.app(scope, receive, send)
            return
        token = _token(scope)
        principal = self.keys.authenticate(token)
        scope[PRINCIPAL] = principal
        if principal is None and not _is_open(scope["path"]):
            if scope["type"] == "http":
                await refusal(scope, token is not None)(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)


def principal_of(request: Request) -> Principal | None:
    """The principal ``Authenticate`` found (None on an open path without a valid key)."""
    return request.scope.get(PRINCIPAL)


_bearer = HTTPBearer(auto_error=False, description="An API key (`matlas keys create`); not needed when the "
                                                   "server runs keyless on loopback.")


def reader(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The caller, who holds a read or admin key (or is the local user of a keyless server)."""
    principal = principal_of(request)
    if principal is None:  # only reachable if a route under an open path asks for it
        raise Forbidden("an API key is required")
    return principal


def admin(principal: Annotated[Principal, Depends(reader)]) -> Principal:
    """The caller, who holds an admin key (or is the local user of a keyless server); else 403."""
    if not principal.is_admin:
        raise Forbidden(f"key {principal.name!r} has scope 'read'; this operation needs an 'admin' key")
    return principal


ReaderDep = Annotated[Principal, Depends(reader)]
AdminDep = Annotated[Principal, Depends(admin)]
