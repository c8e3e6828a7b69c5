"""Hand work to Celery workers when a broker is configured, else do it in this process.

The CLI and the API call these with their own settings; ``send`` fails fast with
``QueueUnavailable`` (HTTP 503) when the broker cannot be reached, instead of hanging.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import redis
from celery.backends.base import BaseBackend
from kombu.exceptions import OperationalError
from kombu.utils.url import maybe_sanitize_url
from pydantic import BaseModel, Field

from index.versions import resolve_index
from matlas.errors import InvalidInput, Unavailable
from matlas.settings import Settings
from retrieval.encoder import MultiVectorEncoder
from workers.app import MatlasCelery, create_celery, require_broker
from workers.rebuild import BUILTIN_CORPUS, corpus_source, rebuild_index
from workers.schedule import REBUILD_TASK

__all__ = ["QueueUnavailable", "TaskInfo", "send", "submit_rebuild", "task_info"]

_UNREACHABLE = (OperationalError, redis.RedisError, OSError)
_clients: dict[tuple[str, str | None], tuple[MatlasCelery, BaseBackend]] = {}
_clients_lock = threading.Lock()


class QueueUnavailable(Unavailable):
    """The task broker or result store cannot be reached; retry later."""


class TaskInfo(BaseModel):
    """A submitted task and where it stands."""

    id: str = Field(description="Task id (GET /v1/tasks/{id}).")
    state: str = Field(description="PENDING (queued, or an unknown id), STARTED, PROGRESS, RETRY, SUCCESS or FAILURE.")
    stage: str | None = Field(None, description="Step of a task in PROGRESS, e.g. building, validating, publishing.")
    result: dict[str, Any] | None = Field(None, description="The task's report (SUCCESS only).")
    error: str | None = Field(None, description="Why it failed (FAILURE only).")


def _client(settings: Settings) -> tuple[MatlasCelery, BaseBackend]:
    """A sending app and a result reader per broker and result store, reused by later calls.

    The sending app has no result backend: Celery's Redis backend would subscribe this process to
    every sent task's result channel, and nothing here waits on them.
    """
    key = (settings.broker_url, settings.redis_url)
    with _clients_lock:
        if key not in _clients:
            sender = create_celery(settings, set_as_current=False)
            sender.conf.result_backend = None
            _clients[key] = sender, create_celery(settings, set_as_current=False).backend
        return _clients[key]


def _unavailable(settings: Settings, err: Exception) -> QueueUnavailable:
    return QueueUnavailable(f"task queue unavailable at {maybe_sanitize_url(settings.broker_url)}: {err}")


def send(settings: Settings, task: str, *, queue: str | None = None, **kwargs: Any) -> TaskInfo:
    """Queue task ``task`` (a registered name) with JSON ``kwargs`` on ``settings.broker_url``."""
    require_broker(settings)
    options = {"queue": queue} if queue else {}
    try:
        result = _client(settings)[0].send_task(task, kwargs=kwargs, **options)
    except _UNREACHABLE as err:
        raise _unavailable(settings, err) from None
    return TaskInfo(id=result.id, state="PENDING")


def task_info(settings: Settings, task_id: str) -> TaskInfo:
    """Where task ``task_id`` stands, from the result store."""
    if not settings.broker_url:
        raise InvalidInput("no task broker configured: tasks run in-process and return their result at once")
    try:
        meta = _client(settings)[1].get_task_meta(task_id)
    except _UNREACHABLE as err:
        raise _unavailable(settings, err) from None
    state, info = meta["status"], meta["result"]
    return TaskInfo(
        id=task_id, state=state,
        stage=info.get("stage") if state == "PROGRESS" and isinstance(info, dict) else None,
        result=info if state == "SUCCESS" else None,
        error=str(info) if state == "FAILURE" else None,
    )


def submit_rebuild(
    settings: Settings,
    name: str,
    corpus: Path | None = None,
    *,
    queue: Literal["index", "gpu"] = "index",
    load_encoder: Callable[[str], MultiVectorEncoder] | None = None,
) -> TaskInfo:
    """Rebuild index ``name`` on a worker (queued), or here and now without a broker (finished)."""
    root = resolve_index(name, settings.indexes_dir, allow_paths=False,
                         must_exist=corpus is None and name != BUILTIN_CORPUS)
    corpus_source(root, corpus)  # refuse at once what the worker would refuse
    if settings.broker_url:
        return send(settings, REBUILD_TASK, queue=queue, name=root.name,
                    corpus=str(corpus.resolve()) if corpus else None)
    report = rebuild_index(settings, root.name, corpus=corpus, load_encoder=load_encoder)
    return TaskInfo(id=f"local-{uuid.uuid4().hex}", state="SUCCESS", result=report.model_dump(mode="json"))
