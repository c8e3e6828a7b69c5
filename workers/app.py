"""The Celery app of matlas: queues ``llm``, ``gpu`` and ``index`` on a Redis broker.

Workers and beat use the module-level ``app`` (``celery -A workers.app worker -Q index``, or
``matlas worker -Q index``), configured from the ``MATLAS_*`` environment when first asked for
(importing this module builds nothing). Only this module and the worker entry points
(``index_tasks``, ``llm_tasks``) import Celery when imported; senders use ``workers.queues.TaskQueue``. Delivery is
at-least-once: a task is acknowledged after it ran (``task_acks_late``), a worker takes one message
at a time, a worker killed mid-task gives its message back, and the broker redelivers a message
left unacknowledged for longer than the hard time limit. Tasks are therefore idempotent (a rebuild
publishes a new version and flips a pointer).
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from celery import Celery
from kombu import Queue

from matlas.errors import InvalidInput
from matlas.settings import Settings
from workers.queues import QUEUES, client_config
from workers.schedule import beat_schedule

__all__ = ["MatlasCelery", "celery_config", "consumes", "create_celery", "default_app", "require_broker"]

TASK_MODULES = ("workers.index_tasks", "workers.llm_tasks")


class MatlasCelery(Celery):
    """A Celery app that keeps the settings it was configured from (tasks pass them to plain functions)."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__("matlas", **kwargs)
        self.settings = settings


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery configuration for ``settings``: routing, delivery guarantees, limits, serialization."""
    hard = settings.task_time_limit_s
    return client_config(settings.broker_url, settings.redis_url) | {
        "task_queues": [Queue(name) for name in QUEUES],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,  # the broker redelivers them
        "worker_proc_alive_timeout": 300,  # a pool process loads its models before it reports up
        "task_time_limit": hard,
        "task_soft_time_limit": 0.9 * hard,
        # unacknowledged messages come back after this; longer than any task may run
        "broker_transport_options": {"visibility_timeout": int(2 * hard), "socket_connect_timeout": 5},
        "result_expires": timedelta(days=1),
        "result_extended": True,
        "task_track_started": True,
        "beat_schedule": beat_schedule(settings.rebuild_indexes, settings.rebuild_every_s),
        "beat_schedule_filename": str(settings.home / "celerybeat-schedule"),
    }


def create_celery(settings: Settings, **kwargs: Any) -> MatlasCelery:
    """A Celery app configured from ``settings`` with the task modules included (``kwargs``: Celery's)."""
    celery = MatlasCelery(settings, include=list(TASK_MODULES), **kwargs)
    celery.conf.update(celery_config(settings))
    return celery


def require_broker(settings: Settings) -> str:
    """The broker URL of ``settings``; ``InvalidInput`` when none is configured."""
    if not settings.broker_url:
        raise InvalidInput("no task broker configured: set MATLAS_BROKER_URL (redis://host:6379/0)")
    return settings.broker_url


def consumes(celery: Celery, *queues: str) -> bool:
    """Whether this worker process consumes any of ``queues`` (what ``-Q`` selected)."""
    return bool(set(celery.amqp.queues.consume_from) & set(queues))



@functools.cache
def default_app() -> MatlasCelery:
    """The app of the workers and beat, configured from the environment (built once, on first use)."""
    return create_celery(Settings())


def __getattr__(name: str) -> Any:
    """``workers.app.app`` (what ``celery -A workers.app`` and the task modules use) is built lazily."""
    if name == "app":
        return default_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
