"""The one place that turns ``Settings`` into the core's parts: encoders, build parameters, services,
stores, the task queue and the LLM serving config. The core takes these slices and built objects and
never reads the settings; the CLI, the API and the Celery task modules call these.

Heavy imports (torch, langchain, Celery) happen inside the functions, so the CLI starts fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matlas.errors import InvalidInput
from matlas.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agents.sessions import ChatService, SessionStore
    from index.build import BuildParams
    from index.manifest import IndexManifest
    from retrieval.encoder import MultiVectorEncoder
    from retrieval.encoder_cache import EncoderCache
    from retrieval.service import SearchService
    from workers.llm_service import ServingConfig
    from workers.queues import QueueName, TaskInfo, TaskQueue
    from workers.rebuild import RebuildConfig

__all__ = [
    "build_params", "chat_service", "encoder", "encoder_cache", "ensure_default_index", "open_session_store",
    "rebuild_config", "search_service", "serving_config", "submit_rebuild", "task_info", "task_queue",
]


def encoder(settings: Settings, model_id: str | None = None) -> MultiVectorEncoder:
    """The encoder ``model_id`` (default: the settings' model) on the settings' device and batch size."""
    from retrieval.encoder import MultiVectorEncoder

    return MultiVectorEncoder(model_id or settings.encoder_model, device=settings.device,
                              batch_size=settings.encode_batch_size)


def encoder_cache(settings: Settings) -> EncoderCache:
    """Encoders by model id, each loaded once, on the settings' device and batch size."""
    from retrieval.encoder_cache import EncoderCache

    return EncoderCache(device=settings.device, batch_size=settings.encode_batch_size)


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


def ensure_default_index(
    settings: Settings, *, announce: Callable[[str], None] = lambda line: None, progress: bool = False
) -> IndexManifest | None:
    """Build the default index from its bundled corpus if it has one and is not built yet; its manifest, or None."""
    from index.build import build_index
    from index.versions import IndexRoot
    from retrieval.corpus import bundled_corpus

    root = IndexRoot(settings.indexes_dir / settings.default_index)
    if root.exists() or (docs := bundled_corpus(settings.default_index)) is None:
        return None
    announce(f"building the default {settings.default_index} index at {root.path} (first start only) ...")
    return build_index(docs, root.path, encoder(settings), build_params(settings), progress=progress)


def search_service(settings: Settings, *, allow_paths: bool = False) -> SearchService:
    """The search service over ``settings.indexes_dir`` (encoders and searchers cached)."""
    from retrieval.service import SearchService

    return SearchService.from_settings(settings, allow_paths=allow_paths)


def rebuild_config(settings: Settings) -> RebuildConfig:
    """What index rebuilds need: the index root, a new index's encoder and parameters, locks, retention."""
    from workers.rebuild import RebuildConfig

    return RebuildConfig(indexes_dir=settings.indexes_dir, encoder_model=settings.encoder_model,
                         build=build_params(settings), keep_versions=settings.rebuild_keep_versions,
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
                                 load_encoder=load_encoder or functools.partial(encoder, settings))


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
    from agents.chat import build_chat_agent
    from agents.llm import chat_model
    from agents.sessions import ChatService

    search = search or search_service(settings)
    return ChatService(
        store=lambda: open_session_store(settings),
        llm=(lambda: llm) if llm is not None else (lambda: chat_model(settings)),
        agent=lambda model, session_id: build_chat_agent(settings, llm=model, session_id=session_id, search=search),
    )
