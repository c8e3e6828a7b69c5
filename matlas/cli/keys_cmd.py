"""``matlas keys create``: a new API key, shown once, and the entry to add to ``MATLAS_API_KEYS``."""

from __future__ import annotations

import typer

from matlas.cli._common import JsonOption, console, print_json
from matlas.errors import InvalidInput
from matlas.security.keys import SCOPES, new_key

app = typer.Typer(help="API keys of `matlas serve` (bearer tokens; the server stores only their SHA-256).",
                  no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="Who holds the key (1-64 letters, digits, '.', '-', '_'); "
                                                  "sessions and rate limits are per name."),
    scope: str = typer.Option("read", "--scope", help=f"One of {', '.join(SCOPES)}: read (search, chat, own "
                                                      "sessions) or admin (also rebuilds and tasks)."),
    as_json: bool = JsonOption,
) -> None:
    """Make a random key: print it once (give it to its holder) and the entry for MATLAS_API_KEYS."""
    try:
        token, entry = new_key(name, scope)
    except ValueError as err:
        raise InvalidInput(str(err)) from None
    if as_json:
        print_json({"name": name, "scope": scope, "key": token, "entry": entry})
        return
    console.print(f"key for {name} ({scope}), shown only now:\n  {token}", markup=False, highlight=False)
    console.print("add this entry to MATLAS_API_KEYS (comma-separated; it holds only the key's SHA-256):\n"
                  f"  {entry}", markup=False, highlight=False)
