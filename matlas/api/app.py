"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import matlas
from agents.sessions import ChatService
from matlas.api.routes import chat, crossmodal, indexes, materials, openai, search, tasks
from matlas.errors import MatlasError
from matlas.settings import Settings
from retrieval.service import SearchService

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None, *, search_service: SearchService | None = None,
    chat_service: ChatService | None = None,
) -> FastAPI:
    """Build the API app around one settings object (read from the environment if not given)."""
    settings = settings or Settings()
    app = FastAPI(title="matlas", version=matlas.__version__, description="Retrieval and agent services for materials science.")
    app.state.settings = settings
    app.state.search = search_service or SearchService.from_settings(settings)
    app.state.chat = chat_service or ChatService(settings, search=app.state.search)

    @app.exception_handler(MatlasError)
    async def _matlas_error(request: Request, exc: MatlasError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"detail": str(exc)})

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": matlas.__version__}

    app.include_router(search.router, prefix="/v1")
    app.include_router(indexes.router, prefix="/v1")
    app.include_router(crossmodal.router, prefix="/v1")
    app.include_router(chat.router, prefix="/v1")
    app.include_router(openai.router, prefix="/v1")
    app.include_router(tasks.router, prefix="/v1")
    app.include_router(materials.router, prefix="/v1")
    from matlas.mcp import mount_mcp
    from matlas.web import mount_web

    mount_web(app)
    mount_mcp(app)
    return app
