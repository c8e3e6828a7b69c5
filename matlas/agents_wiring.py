"""Wiring of the agents from ``Settings``: the LLM config slice, the one MP client, the chat agent.

The core (``agents/``) takes built objects; this shell module is the one place that reads the
settings for them. ``mp_client`` returns one ``MPClient`` per endpoint for the process, so every
session's tools share an HTTP session instead of opening an ``MPRester`` per call.
"""

from __future__ import annotations

import threading
from functools import partial

from langchain_core.language_models import BaseChatModel

from agents.artifacts import ArtifactStore
from agents.chat import ChatAgent, ChatConfig, build_chat_agent
from agents.llm import LLMConfig
from agents.mp.client import LIVE_ENDPOINT, OFFLINE_API_KEY, api_key, embedded_endpoint
from agents.tools import MPClient, expert_tools
from matlas.errors import InvalidInput
from matlas.settings import Settings, scrub
from retrieval.service import SearchService

__all__ = ["chat_agent", "llm_config", "mp_client"]

_SESSION_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_clients: dict[tuple[str, str, tuple[str, ...]], MPClient] = {}
_clients_lock = threading.Lock()


def llm_config(settings: Settings) -> LLMConfig:
    """The settings' LLM slice."""
    return LLMConfig(backend=settings.llm_backend, model=settings.llm_model, base_url=settings.llm_base_url,
                     api_key=settings.llm_api_key, quantization=settings.llm_quantization,
                     max_tokens=settings.llm_max_tokens, cache_dir=settings.home / "models", device=settings.device)


def mp_client(settings: Settings) -> MPClient:
    """The process's MP client for the settings' endpoint: live MP with a key, else the embedded snapshot server."""
    if key := api_key(settings):
        endpoint = settings.mp_endpoint or LIVE_ENDPOINT
    else:
        key, endpoint = OFFLINE_API_KEY, settings.mp_endpoint or embedded_endpoint(settings.mp_db_path)
    ident = (endpoint, key, tuple(settings.mp_thermo_types))
    with _clients_lock:
        if ident not in _clients:
            _clients[ident] = MPClient(endpoint, key, thermo_types=settings.mp_thermo_types)
        return _clients[ident]


def chat_agent(
    settings: Settings, *, llm: BaseChatModel | None = None, session_id: str | None = None,
    search: SearchService | None = None, config: ChatConfig | None = None,
) -> ChatAgent:
    """The supervisor, its experts and the linker on the settings' model (or ``llm``), MP client and indexes."""
    from agents.llm import chat_model

    if session_id is not None and not (0 < len(session_id) <= 64 and set(session_id) <= _SESSION_ID_CHARS):
        raise InvalidInput(f"invalid session id {session_id!r}: use 1-64 letters, digits, '-' or '_'")
    model = llm or chat_model(llm_config(settings))
    artifacts = ArtifactStore(settings.home / "artifacts" / (session_id or "default"))
    tools = expert_tools(mp_client(settings), artifacts, search=search, default_index=settings.default_index)
    return build_chat_agent(model, tools, scrub=partial(scrub, settings=settings),
                            config=config or ChatConfig(draft_tokens=settings.llm_draft_tokens))
