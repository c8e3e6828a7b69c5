"""MaxSim on CPU: packed GEMMs over blocks of documents, then segmented max and sum.

Each block of at most ``block_tokens`` document tokens is gathered from its (memory-mapped) float16
views, widened to float32 by torch (F16C) into this thread's reused scratch, multiplied by all query
tokens in one GEMM, and reduced with ``np.maximum.reduceat`` over documents and ``np.add.reduceat``
over queries. No scratch is allocated per call, and no padding is computed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["maxsim_cpu"]

# A C=300 re-rank (~25k tokens) is one GEMM, one parallel region: on a busy machine each region
# waits for descheduled threads (bench/maxsim.py, 2 threads: 114 ms at 32k-token blocks, 228 ms at
# 8k, 680 ms at 2k; alike on 1 thread). Larger batches are blocked so the scratch stays bounded
# (32k x 384 dims: 48 MiB float32 + 24 MiB float16 per thread).
BLOCK_TOKENS = 32768

_scratch = threading.local()


def maxsim_cpu(
    queries: np.ndarray,
    query_offsets: np.ndarray,
    documents: Sequence[np.ndarray],
    *,
    block_tokens: int = BLOCK_TOKENS,
) -> np.ndarray:
    """Chamfer scores ``(n_queries, n_docs)`` float32 of packed queries against documents.

    ``queries (Q, dim)`` float32 holds every query's tokens back to back, query ``i`` being rows
    ``query_offsets[i]:query_offsets[i + 1]``; each document is ``(n_j, dim)`` with ``n_j >= 1``.
    Documents are scored ``block_tokens`` tokens at a time (a longer document is a block alone).

    >>> q = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    >>> d = [np.array([[1.0, 0.0]], np.float16), np.array([[0.5, 0.5], [0.0, 1.0]], np.float16)]
    >>> maxsim_cpu(q, np.array([0, 1, 2]), d).tolist()
    [[1.0, 0.5], [0.0, 1.0]]
    """
    q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32))
    lengths = np.fromiter((len(d) for d in documents), dtype=np.int64, count=len(documents))
    ends = np.cumsum(lengths)
    out = np.empty((len(query_offsets) - 1, len(documents)), dtype=np.float32)
    start = 0
    while start < len(documents):
        base = ends[start] - lengths[start]
        stop = max(start + 1, int(np.searchsorted(ends, base + block_tokens, side="right")))
        tokens = _widen(documents[start:stop], int(ends[stop - 1] - base), q.shape[1])
        sims = (tokens @ q.T).numpy()  # (block tokens, Q)
        per_doc = np.maximum.reduceat(sims, ends[start:stop] - lengths[start:stop] - base, axis=0)
        out[:, start:stop] = np.add.reduceat(per_doc, query_offsets[:-1], axis=1).T
        start = stop
    return out


def _widen(documents: Sequence[np.ndarray], n_tokens: int, dim: int) -> torch.Tensor:
    """``documents`` stacked as float32 ``(n_tokens, dim)`` in this thread's scratch, valid until its next call.

    float16 is gathered into a float16 scratch and widened by torch: numpy's own cast and fresh pages
    each cost several times the copy.
    """
    size = n_tokens * dim
    if getattr(_scratch, "full", None) is None or _scratch.full.numel() < size:
        _scratch.full = torch.empty(max(size, 1 << 20), dtype=torch.float32)
        _scratch.half = np.empty(_scratch.full.numel(), dtype=np.float16)
    out = _scratch.full[:size].view(n_tokens, dim)
    if all(d.dtype == np.float16 for d in documents):
        staged = _scratch.half[:size].reshape(n_tokens, dim)
        np.concatenate(documents, out=staged)
        out.copy_(torch.from_numpy(staged))
    else:
        np.concatenate(documents, out=out.numpy(), casting="same_kind")
    return out
