"""The one place that turns ``Settings`` into the core's parts: services, stores and clients.
The core takes these built objects and never reads the settings; the CLI and the API call these.

Heavy imports (torch, langchain) happen inside the functions, so the CLI starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matlas.errors import InvalidInput
from matlas.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agents.sessions import ChatService, SessionStore
    from retrieval.service import SearchService

__all__ = ["chat_service", "open_session_store", "search_service"]


def search_service(settings: Settings, *, allow_paths: bool = False) -> SearchService:
    """The search service over ``settings.indexes_dir`` (encoders and searchers cached)."""
    from retrieval.service import SearchService

    return SearchService.from_settings(settings, allow_paths=allow_paths)


def open_session_store(settings: Settings) -> SessionStore:
    """The store ``settings.sessions_backend`` names: SQLite at HOME/sessions.sqlite, or Redis at redis_url."""
    from agents.sessions import RedisSessionStore, SqliteSessionStore

    if settings.sessions_backend == "redis":
        if not settings.redis_url:
            raise InvalidInput("sessions_backend 'redis' needs a Redis URL (set MATLAS_REDIS_URL)")
        return RedisSessionStore(settings.redis_url)
    return SqliteSessionStore(settings.home / "sessions.sqlite")


def chat_service(
    settings: Settings, *, llm: BaseChatModel | None = None, search: SearchService | None = None
) -> ChatService:
    """Chat over stored sessions with the settings' LLM backend (or ``llm``); encoders load once, not per turn."""
    from agents.chat import build_chat_agent
    from agents.llm import chat_model
    from agents.sessions import ChatService

    search = search or search_service(settings)
    return ChatService(
        store=lambda: open_session_store(settings),
        llm=(lambda: llm) if llm is not None else (lambda: chat_model(settings)),
        agent=lambda model, session_id: build_chat_agent(settings, llm=model, session_id=session_id, search=search),
    )
