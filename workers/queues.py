"""The queues and task names of the work engine, and the client that sends tasks to them.

Celery (and kombu) are imported when a ``TaskQueue`` first sends or reads, never when this module is imported:
the API and the agents import it whether or not a broker is configured.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal, get_args

import redis
from pydantic import BaseModel, Field

from matlas.errors import Unavailable

if TYPE_CHECKING:
    from celery import Celery
    from celery.backends.base import BaseBackend

__all__ = [
    "GENERATE_TASK",
    "QUEUES",
    "REBUILD_QUEUES",
    "REBUILD_TASK",
    "QueueName",
    "QueueUnavailable",
    "TaskInfo",
    "TaskQueue",
    "client_config",
]

QueueName = Literal["llm", "gpu", "index"]
QUEUES: tuple[QueueName, ...] = get_args(QueueName)
LLM, GPU, INDEX = QUEUES
REBUILD_QUEUES: tuple[QueueName, ...] = (INDEX, GPU)  # gpu: encode on a GPU worker
REBUILD_TASK = "workers.index_tasks.rebuild_index"
GENERATE_TASK = "workers.llm_tasks.generate"


class QueueUnavailable(Unavailable):
    """The task broker or result store cannot be reached; retry later."""


class TaskInfo(BaseModel):
    """A submitted task and where it stands."""

    id: str = Field(description="Task id (GET /v1/tasks/{id}).")
    state: str = Field(description="PENDING (queued, or an unknown id), STARTED, PROGRESS, RETRY, SUCCESS or FAILURE.")
    stage: str | None = Field(None, description="Step of a task in PROGRESS, e.g. building, validating, publishing.")
    result: dict[str, Any] | None = Field(None, description="The task's report (SUCCESS only).")
    error: str | None = Field(None, description="Why it failed (FAILURE only).")


def client_config(broker_url: str, result_url: str | None) -> dict[str, Any]:
    """What senders and workers agree on: broker, result store, routing, serialization, timeouts."""
    return {
        "broker_url": broker_url,
        "result_backend": result_url or broker_url,
        "task_default_queue": INDEX,
        # gpu takes tasks sent there explicitly (a rebuild with queue="gpu" encodes on a GPU worker)
        "task_routes": {"workers.index_tasks.*": {"queue": INDEX}, "workers.llm_tasks.*": {"queue": LLM}},
        "broker_transport_options": {"socket_connect_timeout": 5},
        "broker_connection_retry_on_startup": True,
        "redis_socket_connect_timeout": 5,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
    }


class TaskQueue:
    """Sends tasks by name to the workers of ``broker_url`` and reads their state from ``result_url``.

    ``send`` and ``info`` fail fast with ``QueueUnavailable`` (HTTP 503) when the broker or the
    result store cannot be reached, instead of hanging.
    """

    def __init__(self, broker_url: str, result_url: str | None = None) -> None:
        self.broker_url, self.result_url = broker_url, result_url
        self._apps: tuple[Celery, BaseBackend] | None = None
        self._lock = threading.Lock()

    def _client(self) -> tuple[Celery, BaseBackend]:
        """A sending app and a result reader, built on first use.

        The sending app has no result backend: Celery's Redis backend would subscribe this process to
        every sent task's result channel, and nothing here waits on them.
        """
        with self._lock:
            if self._apps is None:
                from celery import Celery

                config = client_config(self.broker_url, self.result_url)
                sender = Celery("matlas", set_as_current=False)
                sender.conf.update(config | {"result_backend": None})
                reader = Celery("matlas", set_as_current=False)
                reader.conf.update(config)
                self._apps = sender, reader.backend
            return self._apps

    def _unavailable(self, err: Exception) -> QueueUnavailable:
        from kombu.utils.url import maybe_sanitize_url

        return QueueUnavailable(f"task queue unavailable at {maybe_sanitize_url(self.broker_url)}: {err}")

    def send(self, task: str, *, queue: QueueName | None = None, **kwargs: Any) -> TaskInfo:
        """Queue task ``task`` (a registered name) with JSON ``kwargs``."""
        from kombu.exceptions import OperationalError

        options = {"queue": queue} if queue else {}
        try:
            result = self._client()[0].send_task(task, kwargs=kwargs, **options)
        except (OperationalError, redis.RedisError, OSError) as err:
            raise self._unavailable(err) from None
        return TaskInfo(id=result.id, state="PENDING")

    def info(self, task_id: str) -> TaskInfo:
        """Where task ``task_id`` stands, from the result store."""
        from kombu.exceptions import OperationalError

        try:
            meta = self._client()[1].get_task_meta(task_id)
        except (OperationalError, redis.RedisError, OSError) as err:
            raise self._unavailable(err) from None
        state, info = meta["status"], meta["result"]
        return TaskInfo(
            id=task_id, state=state,
            stage=info.get("stage") if state == "PROGRESS" and isinstance(info, dict) else None,
            result=info if state == "SUCCESS" else None,
            error=str(info) if state == "FAILURE" else None,
        )
