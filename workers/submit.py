"""Hand work to Celery workers when a queue is configured, else do it in this process.

The CLI and the API call these through ``matlas.wiring``, which builds the ``TaskQueue`` (None
without a broker) and the ``RebuildConfig`` from the settings.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from index.backends import IndexBackends
from index.versions import IndexRoot
from matlas.errors import InvalidInput
from retrieval.corpus import MATERIALS_INDEX
from retrieval.encoder import MultiVectorEncoder
from workers.queues import INDEX, REBUILD_TASK, QueueName, QueueUnavailable, TaskInfo, TaskQueue
from workers.rebuild import RebuildConfig, corpus_source, rebuild_index

if TYPE_CHECKING:
    from index.qdrant import QdrantStore

__all__ = ["QueueUnavailable", "TaskInfo", "submit_rebuild", "task_info"]


def submit_rebuild(
    config: RebuildConfig,
    tasks: TaskQueue | None,
    name: str,
    corpus: Path | None = None,
    *,
    queue: QueueName = INDEX,
    load_encoder: Callable[[str], MultiVectorEncoder],
    qdrant: QdrantStore | None = None,
) -> TaskInfo:
    """Rebuild index ``name`` on a worker of ``queue`` (queued), or here and now without ``tasks`` (finished);
    the index may live under the index root or on ``qdrant``."""
    root = IndexBackends(config.indexes_dir, qdrant, default=config.backend).locate(
        name, must_exist=corpus is None and name != MATERIALS_INDEX)
    corpus_source(IndexRoot(config.indexes_dir / root.name), corpus)  # refuse at once what the worker would refuse
    if tasks is not None:
        return tasks.send(REBUILD_TASK, queue=queue, name=root.name, corpus=str(corpus.resolve()) if corpus else None)
    report = rebuild_index(config, root.name, corpus=corpus, load_encoder=load_encoder, qdrant=qdrant)
    return TaskInfo(id=f"local-{uuid.uuid4().hex}", state="SUCCESS", result=report.model_dump(mode="json"))


def task_info(tasks: TaskQueue | None, task_id: str) -> TaskInfo:
    """Where task ``task_id`` stands; without a queue there is nothing to look up."""
    if tasks is None:
        raise InvalidInput("no task broker configured: tasks run in-process and return their result at once")
    return tasks.info(task_id)
