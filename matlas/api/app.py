"""The FastAPI application factory, and the warm-up ``matlas serve`` runs before serving."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

import matlas
from agents.sessions import ChatService
from matlas import wiring
from matlas.api.auth import Authenticate, admin, reader
from matlas.api.errors import install_error_handlers, responses
from matlas.api.middleware import AllowedMethods, BodyLimit, Deadline, StrictJSON
from matlas.api.routes import chat, crossmodal, indexes, materials, openai, search, tasks
from matlas.errors import MatlasError
from matlas.settings import Settings
from retrieval.hashing.features import structure_vector
from retrieval.isolation import IsolatedCalls
from retrieval.service import CrossModalService, SearchService
from workers.slots import Slots

__all__ = ["STRUCTURE_TIMEOUT_S", "WARM_ENV", "create_app", "warm_up", "worker_app"]

STRUCTURE_TIMEOUT_S = 10.0  # bound of one structure's reading and analysis, in a child process
STRUCTURE_WORKERS = 2
WARM_ENV = "MATLAS_SERVE_WARM"  # set by `matlas serve --workers N` for its workers: "1" warms each
_WARM_STRUCTURE = ("Na\n1.0\n4 0 0\n0 4 0\n0 0 4\nNa Cl\n1 1\ndirect\n0 0 0\n0.5 0.5 0.5\n")  # POSCAR of NaCl


def create_app(
    settings: Settings | None = None, *, search_service: SearchService | None = None,
    chat_service: ChatService | None = None,
) -> FastAPI:
    """Build the API app around one settings object (read from the environment if not given).

    The search services share one index catalogue and one encoder cache (those of
    ``search_service`` when given); structures of cross-modal queries are read and analysed in
    child processes with a time bound, so that native code cannot take the server down. With API
    keys configured every route but ``/healthz``, the OpenAPI documents and ``/login`` needs one
    (``matlas.api.auth``); searches and chats are rate-limited per key, chat turns and generations
    capped per process, and responses must start within ``request_timeout_s``.
    """
    settings = settings or Settings()
    search_service = search_service or wiring.search_service(settings)
    featurise = IsolatedCalls(structure_vector, workers=STRUCTURE_WORKERS, timeout_s=STRUCTURE_TIMEOUT_S,
                              what="structure analysis")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        featurise.close()

    app = FastAPI(title="matlas", version=matlas.__version__, lifespan=lifespan,
                  description="Retrieval and agent services for materials science. Errors are "
                              "`{\"detail\": ...}`: a string, or for a request that does not match the "
                              "schema a list of field errors (see ValidationErrorResponse).")
    app.state.settings = settings
    app.state.search = search_service
    app.state.crossmodal = CrossModalService(search_service.catalog, search_service.encoders,
                                             snapshot=settings.mp_snapshot, default_encoder=settings.encoder_model,
                                             featurise=featurise)
    app.state.structure_calls = featurise
    app.state.chat = chat_service or wiring.chat_service(settings, search=search_service)
    app.state.keys = settings.key_ring()
    app.state.rate_limits = wiring.rate_limits(settings)
    app.state.generation_slots = Slots(settings.max_concurrent_generations, "generation")
    install_error_handlers(app, private=[p for p in (settings.home, settings.indexes_dir, settings.mp_snapshot,
                                                     settings.mp_db) if p is not None])

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": matlas.__version__}

    read, admin_only = [Depends(reader)], [Depends(admin)]  # scopes; Authenticate already refused no key
    for router in (search.router, indexes.router, crossmodal.router, chat.router, materials.router):
        app.include_router(router, prefix="/v1", dependencies=read, responses=responses(401, 503))
    app.include_router(tasks.router, prefix="/v1", dependencies=admin_only, responses=responses(401, 403, 503))
    app.include_router(openai.router, prefix="/v1", dependencies=read,
                       responses=responses(401, 404, 413, 422, 502, 503))
    from matlas.mcp import mount_mcp
    from matlas.web import mount_web

    mount_web(app)
    mount_mcp(app)
    if not app.state.keys:
        _without_security(app)
    app.add_middleware(StrictJSON)
    app.add_middleware(AllowedMethods, paths_of=lambda: app.openapi()["paths"])
    app.add_middleware(Deadline, timeout_s=settings.request_timeout_s)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Authenticate, keys=app.state.keys)  # outermost: no key, nothing else is read
    return app


def _without_security(app: FastAPI) -> None:
    """A keyless server's schema asks for no key: drop the bearer scheme that the scope checks declare."""
    schema_of = app.openapi

    def openapi() -> dict:
        schema = schema_of()
        for item in schema["paths"].values():
            for operation in item.values():
                operation.pop("security", None)
        schema.get("components", {}).pop("securitySchemes", None)
        return schema

    app.openapi = openapi


def warm_up(app: FastAPI) -> list[str]:
    """Load every index of every kind with its encoder, start the structure analysers and run one
    query through each, so that the first request does not pay for loading; the names warmed."""
    muvera, cross = app.state.search.warm_up(), app.state.crossmodal.warm_up()
    if cross:
        for _ in range(STRUCTURE_WORKERS):
            app.state.structure_calls(_WARM_STRUCTURE)
    settings = app.state.settings
    try:  # the chat tools' MP client (mp-api imported, the snapshot server started) and a local chat model
        wiring.mp_client(settings).warm_up()
        if settings.warm_llm:
            from agents.llm import warm_up as warm_llm

            warm_llm(wiring.llm_config(settings))
    except MatlasError as err:  # e.g. no snapshot or no model yet: the first question reports it
        logging.getLogger(__name__).warning("not warming the chat side: %s", err)
    return muvera + cross


def worker_app() -> FastAPI:
    """The app of one ``matlas serve --workers N`` worker: settings read from the environment, warmed
    up unless ``MATLAS_SERVE_WARM=0``; prints ``warm: ...`` (with its pid) once it can serve."""
    import os

    app = create_app(Settings())
    if os.environ.get(WARM_ENV, "1") != "0":
        warmed = warm_up(app)
        print(f"warm: {', '.join(warmed) or 'no index built yet'} (worker {os.getpid()})", flush=True)
    return app
