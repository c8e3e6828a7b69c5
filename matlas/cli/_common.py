"""What every CLI command shares: the settings object, the console and JSON output."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console

from matlas.settings import Settings

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # one-line errors stay one line when piped

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the root callback built once for this invocation."""
    return ctx.find_root().obj


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (no colours, no wrapping)."""
    typer.echo(json.dumps(data, indent=2, default=str))
