"""The MCP front door: ``build_server`` (tools and resources), ``mount_mcp`` (streamable HTTP at ``/mcp`` of
the API app, sharing its services) and ``matlas mcp`` (stdio, ``matlas/cli/mcp_cmd.py``)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from matlas.mcp.server import build_server

__all__ = ["MCP_PATH", "build_server", "mount_mcp"]

MCP_PATH = "/mcp"


class _Endpoint:
    """The ASGI endpoint at ``/mcp``: the session manager of the server started by the app's lifespan."""

    def __init__(self) -> None:
        self.manager: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.manager is None:
            response = PlainTextResponse("the MCP server starts with the app (lifespan); it is not running",
                                         status_code=503)
            await response(scope, receive, send)
            return
        await self.manager.handle_request(scope, receive, send)


def mount_mcp(app: FastAPI) -> None:
    """Serve MCP over streamable HTTP at ``/mcp`` of ``app``, with ``app.state``'s settings, search and chat.

    A fresh server and session manager start with each run of the app's lifespan (a manager runs once).
    """
    from starlette.routing import Route

    endpoint = _Endpoint()
    app.router.routes.append(Route(MCP_PATH, endpoint=endpoint, methods=["GET", "POST", "DELETE"]))
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi_app):
        server = build_server(app.state.settings, search=app.state.search, crossmodal=app.state.crossmodal,
                              rate_limits=app.state.rate_limits,
                              chat=app.state.chat)
        server.streamable_http_app()  # creates the session manager
        async with server.session_manager.run():
            endpoint.manager = server.session_manager
            try:
                async with outer(asgi_app) as state:
                    yield state
            finally:
                endpoint.manager = None

    app.router.lifespan_context = lifespan
