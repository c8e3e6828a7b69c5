"""Tasks of the ``index`` queue: thin shells over ``workers.rebuild``.

A pool process loads the default encoder once when it starts (``worker_process_init``), on the
device of its worker; other encoders load on first use. The same task sent to the ``gpu`` queue
encodes on a GPU worker's device.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import redis
from celery import Task
from celery.signals import worker_process_init

from matlas import wiring
from retrieval.encoder_cache import EncoderCache
from workers import rebuild
from workers.app import app, consumes
from workers.queues import GPU, INDEX

__all__ = ["TRANSIENT", "encoders", "rebuild_index"]

TRANSIENT = (ConnectionError, TimeoutError, redis.ConnectionError, redis.TimeoutError)  # worth a retry


@functools.cache
def encoders() -> EncoderCache:
    """This process's encoders, each loaded once."""
    return wiring.encoder_cache(app.settings)


@worker_process_init.connect
def _preload_encoder(**_: Any) -> None:
    if consumes(app, INDEX, GPU):
        encoders().get(app.settings.encoder_model)


@app.task(bind=True, autoretry_for=TRANSIENT, retry_backoff=True, retry_backoff_max=300, max_retries=5)
def rebuild_index(self: Task, name: str, corpus: str | None = None) -> dict[str, Any]:
    """Rebuild index ``name`` (from ``corpus``, a path the worker can read, if given); a ``RebuildReport``."""
    report = rebuild.rebuild_index(
        wiring.rebuild_config(app.settings), name, corpus=Path(corpus) if corpus else None,
        load_encoder=encoders().get, qdrant=wiring.qdrant_store(app.settings),
        on_stage=lambda stage: self.update_state(state="PROGRESS", meta={"stage": stage}),
    )
    return report.model_dump(mode="json")
