"""Serve FAISS indexes from a GPU when faiss-gpu sees one; with faiss-cpu every call is a no-op."""

from __future__ import annotations

import functools
import logging

import faiss

__all__ = ["to_gpu"]

log = logging.getLogger(__name__)


def to_gpu(index: faiss.Index, device: int = 0) -> faiss.Index:
    """A copy of ``index`` on GPU ``device`` when faiss has one, else ``index`` itself.

    Index types faiss-gpu cannot hold (HNSW, for one) stay on the CPU with a warning.
    """
    if faiss.get_num_gpus() == 0:
        return index
    try:
        return faiss.index_cpu_to_gpu(_resources(), device, index)
    except RuntimeError as err:
        log.warning("FAISS index %s stays on the CPU: %s", type(index).__name__, err)
        return index


@functools.cache
def _resources() -> faiss.StandardGpuResources:
    """This process's GPU memory pool and streams, shared by every index it moves."""
    return faiss.StandardGpuResources()
