"""``matlas serve``: the HTTP API over the index root (the platform's main job)."""

from __future__ import annotations

import os

import typer

from matlas import wiring
from matlas.cli._common import console, settings_of

# uvicorn kills and restarts a worker that does not answer its supervisor's ping within this many
# seconds (its default, 5 s, killed workers still loading their indexes on a busy machine, in a
# loop, so a --workers server never got ready; a worker busy with one long request is not hung)
WORKER_HEALTHCHECK_S = 300


def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Bind address (default: settings, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default: settings, 8000)."),
    build_default: bool = typer.Option(True, help="Build the default materials index if missing."),
    warm: bool = typer.Option(
        True, help="Load every index (muvera and crossmodal) with its encoder before serving, so the first query is fast."
    ),
    allow_insecure: bool = typer.Option(
        False, "--allow-insecure", help="Serve a non-loopback address without API keys (default: settings, false)."
    ),
    workers: int = typer.Option(
        1, min=1, help="uvicorn worker processes; each loads its own encoders and indexes (memory grows with N)."
    ),
) -> None:
    """Serve the HTTP API: search, chat, OpenAI-compatible completions, tasks (OpenAPI at /docs).

    Without API keys (MATLAS_API_KEYS) it serves loopback only; another address needs keys or --allow-insecure.
    """
    import uvicorn

    from matlas.api.app import WARM_ENV, create_app, warm_up
    from matlas.security.binding import check_binding

    settings = settings_of(ctx)
    host, port = host or settings.host, port or settings.port
    protection = check_binding(host, keyed=bool(settings.key_ring()),
                               allow_insecure=allow_insecure or settings.allow_insecure)
    console.print(protection, markup=False, highlight=False, soft_wrap=True)
    if build_default and (built := wiring.ensure_default_index(settings, announce=console.print, progress=True)):
        console.print(f"built {built.name} {built.version}: {built.documents} documents")
    base = f"http://{host}:{port}"
    if workers > 1:  # each worker builds its app from the same environment (matlas.api.app.worker_app)
        console.print(f"[bold]matlas[/] serving {settings.indexes_dir} on {base} with {workers} workers")
        os.environ[WARM_ENV] = "1" if warm else "0"
        uvicorn.run("matlas.api.app:worker_app", factory=True, host=host, port=port, workers=workers,
                    timeout_worker_healthcheck=WORKER_HEALTHCHECK_S, log_level="warning")
        return
    app = create_app(settings)
    if warm:
        with console.status("loading the encoders and indexes"):
            warmed = warm_up(app)
        console.print(f"warm: {', '.join(warmed) or 'no index built yet'}")
    auth = " -H \"authorization: Bearer $MATLAS_KEY\"" if settings.key_ring() else ""
    console.print(
        f"[bold]matlas[/] serving {settings.indexes_dir} on {base}  (web app: {base}/  OpenAPI: {base}/docs  "
        f"MCP: {base}/mcp)\n"
        f"try:  curl -s {base}/v1/search{auth} -H 'content-type: application/json' "
        f"-d '{{\"query\": \"wide band gap nitride semiconductor\", \"k\": 5}}'"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
