"""The one place that turns ``Settings`` into the core's parts: encoders, build parameters, services,
stores, the task queue and the LLM serving config. The core takes these slices and built objects and
never reads the settings; the CLI, the API and the Celery task modules call these.

Heavy imports (torch, langchain, Celery) happen inside the functions, so the CLI starts fast.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matlas.errors import InvalidInput
from matlas.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agents.chat import ChatAgent, ChatConfig
    from agents.llm import LLMConfig
    from agents.mp.client import MPClient
    from agents.sessions import ChatService, SessionStore
    from index.backends import IndexBackends
    from index.build import BuildParams
    from index.manifest import IndexManifest
    from index.qdrant import QdrantStore
    from matlas.security.rate import RateLimits
    from retrieval.encoder import MultiVectorEncoder
    from retrieval.encoder_cache import EncoderCache
    from retrieval.service import SearchService
    from workers.llm_service import ServingConfig
    from workers.queues import QueueName, TaskInfo, TaskQueue
    from workers.rebuild import RebuildConfig

__all__ = [
    "build_params", "chat_agent", "chat_service", "encoder", "encoder_cache", "ensure_default_index", "index_backends",
    "llm_config", "mp_client", "open_session_store", "qdrant_store", "rate_limits", "rebuild_config", "search_service",
    "serving_config", "submit_rebuild", "task_info", "task_queue",
]


def encoder(settings: Settings, model_id: str | None = None, *, backend: str | None = None) -> MultiVectorEncoder:
    """The encoder ``model_id`` (default: the settings' model) with the settings' encoder options
    (device, backend, batching, threads, export cache); ``backend`` overrides (an index's recorded one)."""
    from retrieval.encoder import MultiVectorEncoder

    options = settings.encoder_options()
    options = options.model_copy(update={"backend": backend}) if backend else options
    return MultiVectorEncoder(model_id or settings.encoder_model, **options.model_dump())


def encoder_cache(settings: Settings) -> EncoderCache:
    """Encoders by model id and backend, each loaded once, with the settings' encoder options."""
    from retrieval.encoder_cache import EncoderCache

    return EncoderCache(settings.encoder_options())


def build_params(
    settings: Settings, *, factory: str | None = None, fde: Mapping[str, Any] | None = None,
    dense: bool = True, bm25: bool = True,
) -> BuildParams:
    """Parameters of a new index: the settings' FDE and FAISS factory, with ``fde`` fields and ``factory`` overriding."""
    from index.build import BuildParams

    overrides = {key: value for key, value in (fde or {}).items() if value is not None}
    try:
        fde_params = settings.fde.model_validate(settings.fde.model_dump() | overrides)
    except ValueError as err:
        raise InvalidInput(f"invalid FDE parameters: {err.errors()[0]['msg']}") from None
    return BuildParams(fde=fde_params, factory=factory or settings.index_factory, dense=dense, bm25=bm25)


def qdrant_store(settings: Settings) -> QdrantStore | None:
    """The Qdrant of ``MATLAS_QDRANT_URL`` (with its API key) or local mode at ``MATLAS_QDRANT_PATH``; None
    when neither is set. One per configuration and process (local mode allows one client per folder);
    it connects on first use."""
    if not (settings.qdrant_url or settings.qdrant_path):
        return None
    key = (settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None) or None
    path = str(settings.qdrant_path.resolve()) if settings.qdrant_path and not settings.qdrant_url else None
    return _qdrant_store(settings.qdrant_url, key, path, settings.qdrant_timeout_s,
                         settings.qdrant_storage.model_dump_json())


@functools.cache
def _qdrant_store(url: str | None, api_key: str | None, path: str | None, timeout_s: float, params: str) -> QdrantStore:
    from index.qdrant import QdrantParams, QdrantStore

    def client():
        from qdrant_client import QdrantClient

        if path is not None:
            return QdrantClient(path=path)
        return QdrantClient(url=url, api_key=api_key, timeout=max(1, round(timeout_s)))

    return QdrantStore(client, QdrantParams.model_validate_json(params), where=url or "local mode")


def index_backends(settings: Settings) -> IndexBackends:
    """Where indexes live: the index root, and Qdrant when configured; new ones go to ``vector_backend``."""
    from index.backends import IndexBackends

    return IndexBackends(settings.indexes_dir, qdrant_store(settings), default=settings.vector_backend)


def ensure_default_index(
    settings: Settings, *, announce: Callable[[str], None] = lambda line: None, progress: bool = False
) -> IndexManifest | None:
    """Build the default index from its bundled corpus if it has one and is not built yet; its manifest, or None
    (also when Qdrant is not reachable: the server starts and answers 503 for the index until it is)."""
    from index.backends import build_index
    from matlas.errors import Unavailable
    from retrieval.corpus import bundled_corpus

    try:
        root = index_backends(settings).locate(settings.default_index, must_exist=False)
        if root.exists() or (docs := bundled_corpus(settings.default_index)) is None:
            return None
    except Unavailable as err:
        announce(f"not building the default {settings.default_index} index now: {err}")
        return None
    announce(f"building the default {settings.default_index} index at {root.location} (first start only) ...")
    return build_index(docs, root, encoder(settings), build_params(settings), progress=progress)


def search_service(settings: Settings, *, allow_paths: bool = False) -> SearchService:
    """The search service over ``settings.indexes_dir`` and Qdrant (encoders and searchers cached), with the
    settings' encoder options, FDE candidates and MaxSim backend."""
    from retrieval.catalog import IndexCatalog
    from retrieval.encoder_cache import EncoderCache
    from retrieval.service import SearchService

    return SearchService(IndexCatalog(settings.indexes_dir, allow_paths=allow_paths, qdrant=qdrant_store(settings)),
                         EncoderCache(settings.encoder_options()),
                         candidates=settings.search_candidates, maxsim_backend=settings.maxsim_backend,
                         max_batch=settings.search_batch, batch_workers=settings.search_batch_workers)


def rebuild_config(settings: Settings) -> RebuildConfig:
    """What index rebuilds need: the index root, a new index's encoder and parameters, locks, retention."""
    from workers.rebuild import RebuildConfig

    return RebuildConfig(indexes_dir=settings.indexes_dir, encoder_model=settings.encoder_model,
                         build=build_params(settings), backend=settings.vector_backend,
                         keep_versions=settings.rebuild_keep_versions,
                         redis_url=settings.redis_url, lock_ttl_s=settings.rebuild_lock_ttl_s)


def task_queue(settings: Settings) -> TaskQueue | None:
    """The client of the Celery queues when a broker is configured (one per broker and result store), else None."""
    return _task_queue(settings.broker_url, settings.redis_url) if settings.broker_url else None


@functools.cache
def _task_queue(broker_url: str, result_url: str | None) -> TaskQueue:
    from workers.queues import TaskQueue

    return TaskQueue(broker_url, result_url)


def submit_rebuild(
    settings: Settings, name: str, corpus: Path | None = None, *, queue: QueueName = "index",
    load_encoder: Callable[[str], MultiVectorEncoder] | None = None,
) -> TaskInfo:
    """Rebuild index ``name``: queued on ``queue`` when a broker is set, else here and now (finished)."""
    from workers import submit

    return submit.submit_rebuild(rebuild_config(settings), task_queue(settings), name, corpus, queue=queue,
                                 load_encoder=load_encoder or functools.partial(encoder, settings),
                                 qdrant=qdrant_store(settings))


def task_info(settings: Settings, task_id: str) -> TaskInfo:
    """Where a submitted task stands."""
    from workers import submit

    return submit.task_info(task_queue(settings), task_id)


def serving_config(settings: Settings) -> ServingConfig:
    """The hosted LLM of this deployment: model, quantization, cache, device and the Redis of token streams."""
    from workers.llm_service import ServingConfig

    return ServingConfig(model=settings.llm_model, quantization=settings.llm_quantization,
                         cache_dir=settings.home / "models", device=settings.device,
                         streams_url=settings.redis_url or settings.broker_url)


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
    from agents.llm import chat_model
    from agents.sessions import ChatService

    search = search or search_service(settings)
    return ChatService(
        store=lambda: open_session_store(settings),
        llm=(lambda: llm) if llm is not None else (lambda: chat_model(llm_config(settings))),
        agent=lambda model, session_id: chat_agent(settings, llm=model, session_id=session_id, search=search),
        max_turns=settings.max_concurrent_chats,
    )


def rate_limits(settings: Settings) -> RateLimits:
    """Per-key rate limits of searches and chats, counted in ``rate_limit_storage``, else Redis at
    ``redis_url``, else this process's memory."""
    from matlas.security.rate import RateLimits

    storage = settings.rate_limit_storage or settings.redis_url or "memory://"
    return RateLimits({"search": settings.rate_limit_search, "chat": settings.rate_limit_chat}, storage)


_SESSION_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_clients: dict[tuple[str | None, str | None, str, tuple[str, ...]], MPClient] = {}
_clients_lock = threading.Lock()


def llm_config(settings: Settings) -> LLMConfig:
    """The settings' LLM slice."""
    from agents.llm import LLMConfig

    return LLMConfig(backend=settings.llm_backend, model=settings.llm_model, base_url=settings.llm_base_url,
                     api_key=settings.llm_api_key, quantization=settings.llm_quantization,
                     max_tokens=settings.llm_max_tokens, cache_dir=settings.home / "models", device=settings.device)


def mp_client(settings: Settings) -> MPClient:
    """The process's MP client for the settings: live MP with a key, else the embedded snapshot server
    (or the endpoint set); one per configuration, so every session's tools share an HTTP session."""
    from agents.mp.client import MPClient, MPConfig

    config = MPConfig(api_key=settings.mp_api_key, endpoint=settings.mp_endpoint, db_path=settings.mp_db_path)
    ident = (config.key, config.endpoint, str(config.db_path), tuple(settings.mp_thermo_types))
    with _clients_lock:
        if ident not in _clients:
            _clients[ident] = MPClient(config, thermo_types=settings.mp_thermo_types)
        return _clients[ident]


def chat_agent(
    settings: Settings, *, llm: BaseChatModel | None = None, session_id: str | None = None,
    search: SearchService | None = None, config: ChatConfig | None = None,
) -> ChatAgent:
    """The supervisor, its experts and the linker on the settings' model (or ``llm``), MP client and indexes."""
    from agents.artifacts import ArtifactStore
    from agents.chat import ChatConfig, build_chat_agent
    from agents.llm import chat_model
    from agents.tools import expert_tools
    from matlas.settings import scrub

    if session_id is not None and not (0 < len(session_id) <= 64 and set(session_id) <= _SESSION_ID_CHARS):
        raise InvalidInput(f"invalid session id {session_id!r}: use 1-64 letters, digits, '-' or '_'")
    model = llm or chat_model(llm_config(settings))
    artifacts = ArtifactStore(settings.home / "artifacts" / (session_id or "default"))
    tools = expert_tools(mp_client(settings), artifacts, search=search, default_index=settings.default_index)
    return build_chat_agent(model, tools, scrub=functools.partial(scrub, settings=settings),
                            config=config or ChatConfig(draft_tokens=settings.llm_draft_tokens,
                                                          draft=settings.llm_draft))
