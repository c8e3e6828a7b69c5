"""The ``matlas`` command line: one typer app; bad input ends with a one-line error and exit 2."""

from __future__ import annotations

import logging
import os
import sys

import typer
from pydantic import ValidationError

from matlas.cli import (
    chat_cmd,
    hash_cmd,
    index_cmd,
    keys_cmd,
    mcp_cmd,
    mp_cmd,
    search_cmd,
    serve_cmd,
    worker_cmd,
)
from matlas.cli._common import JsonOption, console, err_console, print_json, settings_of
from matlas.errors import MatlasError
from matlas.settings import Settings, redacted

__all__ = ["app", "main"]

app = typer.Typer(
    name="matlas",
    help="Retrieval and agent services for materials science.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(index_cmd.app, name="index")
app.add_typer(hash_cmd.app, name="hash")
app.add_typer(mp_cmd.app, name="mp")
app.add_typer(keys_cmd.app, name="keys")
app.command("search")(search_cmd.search)
app.add_typer(search_cmd.eval_app, name="eval")
search_cmd.eval_app.command("agent")(chat_cmd.eval_agent)
app.command("chat")(chat_cmd.chat)
app.command("serve")(serve_cmd.serve)
app.command("mcp")(mcp_cmd.mcp)
app.command("worker")(worker_cmd.worker)
app.command("beat")(worker_cmd.beat)
app.add_typer(worker_cmd.tasks_app, name="task")


# transformers imports torchao when it loads any model; torchao then warns that its CUDA kernels
# (mxfp8, cutlass) are missing, and torch's pytree warns about torchao's enum registrations.
_NOISY_ON_CPU = ("torchao", "torch.utils._pytree")


@app.callback()
def _root(ctx: typer.Context, verbose: bool = typer.Option(False, "-v", "--verbose", help="Log more.")) -> None:
    """Retrieval and agent services for materials science."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:  # import-time notes of optional CUDA-only extensions, on every CPU machine
        for name in _NOISY_ON_CPU:
            logging.getLogger(name).setLevel(logging.ERROR)
    ctx.obj = Settings()


@app.command("config")
def config(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """Print the effective settings (from MATLAS_* variables), secrets redacted."""
    data = redacted(settings_of(ctx))
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        console.print(f"[bold]{key}[/bold] = {value}")


def main() -> None:
    """Entry point: run the app and turn matlas errors into one line and exit code 2."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        app()
    except MatlasError as err:
        err_console.print(f"error: {err}", markup=False, highlight=False)
        sys.exit(2)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        err_console.print(f"error: invalid setting {where}: {first['msg']}", markup=False, highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
