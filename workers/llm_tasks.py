"""Tasks of the ``llm`` queue: a thin shell over ``workers.llm_service``.

A pool process of a worker that consumes ``llm`` loads the served model once when it starts
(``worker_process_init``). Tokens travel through the Redis stream ``matlas:llm:{request_id}``, not
the result backend. A generation is not idempotent (a rerun would append its tokens again), so it
is acknowledged on receipt, unlike the platform's default of late acknowledgement.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_process_init

from matlas import wiring
from workers import llm_service
from workers.app import app, consumes
from workers.llm_service import GenerationRequest
from workers.queues import GENERATE_TASK, LLM

__all__ = ["generate"]

log = logging.getLogger(__name__)


@worker_process_init.connect
def _warm_up(**_: Any) -> None:
    if consumes(app, LLM):
        log.info("llm worker loaded %s", ", ".join(llm_service.warm_up(wiring.serving_config(app.settings))))


@app.task(name=GENERATE_TASK, pydantic=True, acks_late=False, ignore_result=True)
def generate(request_id: str, request: GenerationRequest) -> bool:
    """Stream the reply to ``request`` into the Redis stream of ``request_id``; False if its reader left."""
    return llm_service.serve(request_id, request, wiring.serving_config(app.settings))
