"""``matlas mcp``: the MCP server on stdio, for MCP clients that start it as a subprocess."""

from __future__ import annotations

import typer

from matlas.cli._common import settings_of


def mcp(ctx: typer.Context) -> None:
    """Serve the MCP tools and resources over stdio (streamable HTTP: `matlas serve`, at /mcp)."""
    import logging

    from matlas.mcp import build_server

    logging.getLogger("mcp").setLevel(logging.WARNING)
    build_server(settings_of(ctx), stateless_http=False).run("stdio")
