"""Exact late-interaction scoring: MaxSim (Chamfer similarity) of a query against documents."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["maxsim_matrix", "maxsim_scores", "maxsim_topk"]


def maxsim_scores(query: np.ndarray, documents: Sequence[np.ndarray]) -> np.ndarray:
    """Chamfer scores ``sum_i max_j <q_i, d_j>`` of one query against each document.

    ``query`` is ``(n_q, dim)``; each document ``(n_j, dim)`` with ``n_j >= 1`` (float16 or
    float32). Returns ``(n_docs,)`` float32 scores.

    >>> q = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    >>> d = [np.array([[1.0, 0.0]]), np.array([[0.6, 0.8], [0.0, 1.0]])]
    >>> maxsim_scores(q, d).tolist()
    [1.0, 1.600000023841858]
    """
    return maxsim_matrix([query], documents)[0]


def maxsim_matrix(queries: Sequence[np.ndarray], documents: Sequence[np.ndarray]) -> np.ndarray:
    """Chamfer scores of every query against every document, ``(n_queries, n_docs)`` float32.

    One GEMM of all query tokens against all document tokens, then a segmented max over each
    document's tokens and a segmented sum over each query's tokens.
    """
    if len(documents) == 0 or len(queries) == 0:
        return np.zeros((len(queries), len(documents)), dtype=np.float32)
    lengths = np.fromiter((len(d) for d in documents), dtype=np.int64, count=len(documents))
    if (lengths == 0).any():
        raise ValueError(f"document {int(np.argmin(lengths))} has no token vectors")
    q_lengths = np.fromiter((len(q) for q in queries), dtype=np.int64, count=len(queries))
    if (q_lengths == 0).any():
        raise ValueError(f"query {int(np.argmin(q_lengths))} has no token vectors")
    query_tokens = np.concatenate(queries).astype(np.float32, copy=False)
    tokens = _stack_float32(documents)
    sims = query_tokens @ tokens.T  # (total query tokens, total doc tokens)
    per_doc = np.maximum.reduceat(sims, np.concatenate([[0], np.cumsum(lengths)[:-1]]), axis=1)
    return np.add.reduceat(per_doc, np.concatenate([[0], np.cumsum(q_lengths)[:-1]]), axis=0)


_scratch = threading.local()


def _stack_float32(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Rows of ``arrays`` stacked as float32, valid until this thread's next call.

    float16 is widened by torch (F16C) into a reused buffer: fresh pages and numpy's cast each
    cost about 10x the copy itself.
    """
    stacked = np.concatenate(arrays)
    if stacked.dtype == np.float32:
        return stacked
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.numel() < stacked.size:
        buf = _scratch.buf = torch.empty(max(stacked.size, 1 << 20), dtype=torch.float32)
    out = buf[: stacked.size].view(stacked.shape)
    out.copy_(torch.from_numpy(stacked))
    return out.numpy()


def maxsim_topk(
    query: np.ndarray, documents: Sequence[np.ndarray], k: int, ids: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` documents by MaxSim: ``(scores, ids)`` sorted by descending score.

    ``ids`` names the documents (default ``0..n-1``); ties keep the lower position first.
    """
    scores = maxsim_scores(query, documents)
    ids = np.arange(len(documents)) if ids is None else np.asarray(ids)
    k = min(k, len(scores))
    top = np.argsort(-scores, kind="stable")[:k]
    return scores[top], ids[top]
