"""A loopback server speaking the Materials Project REST protocol over a snapshot.

The unchanged ``mp_api.client.MPRester`` talks to it as it talks to api.materialsproject.org:
``GET /heartbeat`` and ``GET /materials/{endpoint}/`` with MP's query parameters, answered as
``{"data": [...], "meta": {"total_doc": N, ...}}``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from emmet.core import __version__ as emmet_version
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from agents.mp.query import ENDPOINTS, MAX_LIMIT, Endpoint, search
from agents.mp.snapshot import Snapshot
from matlas.errors import InvalidInput, MatlasError

__all__ = ["SnapshotServer", "create_mp_app", "serve_snapshot"]


def create_mp_app(db_path: Path | str) -> FastAPI:
    """The MP-protocol app over the snapshot at ``db_path`` (which must exist)."""
    snapshot = Snapshot(db_path)
    snapshot.info()  # fail now, not on the first request, when the file is missing
    app = FastAPI(
        title="matlas MP snapshot",
        version=emmet_version,
        description="The Materials Project REST protocol over a local SQLite snapshot.",
    )

    @app.exception_handler(MatlasError)
    async def _matlas_error(request: Request, exc: MatlasError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"detail": str(exc)})

    @app.get("/heartbeat", tags=["health"])
    def heartbeat() -> dict:
        """What MPRester reads first: database version, access-controlled batches, emmet version;
        ``matlas_snapshot`` says what the snapshot holds and whether it is illustrative sample data."""
        info = snapshot.info()
        return {
            "status": "ok",
            "db_version": info.db_version,
            "access_controlled_batch_ids": [],
            "version": emmet_version,
            "matlas_snapshot": {
                "sample": info.sample,
                "materials": info.materials,
                "synthesis_recipes": info.synthesis_recipes,
                "entries": info.entries,
                "provenance": [p.model_dump() for p in info.provenance],
            },
        }

    for name, endpoint in ENDPOINTS.items():
        served = "documents" if endpoint.table else "(no data in a snapshot: always empty)"
        app.add_api_route(
            endpoint.route,
            _route(snapshot, endpoint),
            methods=["GET"],
            name=name,
            tags=[endpoint.route.strip("/").split("/")[0]],
            summary=f"Search {endpoint.route} {served}",
            responses={400: {"description": "A query parameter the route cannot use."}},
        )
    return app


def _route(snapshot: Snapshot, endpoint: Endpoint):
    def handler(request: Request) -> JSONResponse:
        with closing(snapshot.connect(readonly=True)) as conn:
            result = search(conn, endpoint, list(request.query_params.multi_items()))
        meta = {
            "api_version": emmet_version,
            "time_stamp": datetime.now(UTC).isoformat(),
            "total_doc": result.total,
            "max_limit": MAX_LIMIT,
        }
        return JSONResponse({"data": result.data, "meta": meta})

    return handler


class SnapshotServer:
    """uvicorn serving one snapshot from a daemon thread; ``url`` ends with a slash, as MP's."""

    def __init__(self, db_path: Path | str, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(
            create_mp_app(db_path), host=host, port=port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name=f"mp-snapshot-{Path(db_path).name}", daemon=True
        )
        self.host, self.url, self._port = host, "", port

    def start(self, timeout: float = 30.0) -> str:
        """Start serving and return the endpoint URL (``http://HOST:PORT/``)."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise InvalidInput(
                    f"the MP snapshot server cannot listen on {self.host}:{self._port}"
                )
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{port}/"
        return self.url

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)


@contextmanager
def serve_snapshot(db_path: Path | str, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``db_path`` in a background thread for the ``with`` block; yields the endpoint URL."""
    server = SnapshotServer(db_path, host, port)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()
