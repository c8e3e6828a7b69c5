"""Batched, retried, resumable point uploads: point ids are document positions, so a rerun of a
half-finished upload skips the batches already there and rewrites nothing else."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from qdrant_client import models
from tqdm.auto import tqdm

from index.qdrant.store import QdrantStore, _transient

__all__ = ["upload_points"]

log = logging.getLogger(__name__)


def _with_retries(call: Callable[[], object], retries: int, what: str) -> None:
    for attempt in range(retries + 1):
        try:
            call()
            return
        except Exception as err:
            if attempt == retries or not _transient(err):
                raise
            delay = min(2.0**attempt, 30.0)
            log.warning("%s failed (%s); retry %d/%d in %.0f s", what, err, attempt + 1, retries, delay)
            time.sleep(delay)


def upload_points(
    store: QdrantStore, collection: str, ids: Sequence[int], make: Callable[[Sequence[int]], list[models.PointStruct]],
    *, progress: bool = False, resume: bool = False,
) -> int:
    """Upsert the points ``make(batch_ids)`` builds, ``store.params.batch_size`` ids at a time; returns the
    number of points written. With ``resume``, batches whose ids are all present already are skipped."""
    size, retries = store.params.batch_size, store.params.retries
    client, written = store.client, 0
    with store.reachable(), tqdm(total=len(ids), disable=not progress, desc=f"upload {collection}", unit="doc") as bar:
        for start in range(0, len(ids), size):
            batch = list(ids[start : start + size])
            if resume and len(client.retrieve(collection, batch, with_payload=False, with_vectors=False)) == len(batch):
                bar.update(len(batch))
                continue
            points = make(batch)
            _with_retries(lambda points=points: client.upsert(collection, points=points, wait=True), retries,
                          f"upload of points {batch[0]}..{batch[-1]} to {collection}")
            written += len(batch)
            bar.update(len(batch))
    return written
