"""Exact late-interaction scoring: MaxSim (Chamfer similarity) of a query against documents."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gpu.kernels.maxsim import score_batch

__all__ = ["maxsim_matrix", "maxsim_scores", "maxsim_topk"]


def maxsim_scores(
    query: np.ndarray, documents: Sequence[np.ndarray], *, backend: str | None = None
) -> np.ndarray:
    """Chamfer scores ``sum_i max_j <q_i, d_j>`` of one query against each document.

    ``query`` is ``(n_q, dim)``; each document ``(n_j, dim)`` with ``n_j >= 1`` (float16 or
    float32). Returns ``(n_docs,)`` float32 scores; ``backend`` as in ``maxsim_matrix``.

    >>> q = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    >>> d = [np.array([[1.0, 0.0]]), np.array([[0.6, 0.8], [0.0, 1.0]])]
    >>> maxsim_scores(q, d).tolist()
    [1.0, 1.600000023841858]
    """
    return maxsim_matrix([query], documents, backend=backend)[0]


def maxsim_matrix(
    queries: Sequence[np.ndarray], documents: Sequence[np.ndarray], *, backend: str | None = None
) -> np.ndarray:
    """Chamfer scores of every query against every document, ``(n_queries, n_docs)`` float32.

    Runs on ``gpu.kernels.maxsim_backend(backend)``: the Triton kernel on CUDA, else blocked GEMMs
    of all query tokens against the document tokens with segmented max and sum (exact float32).
    """
    return score_batch(queries, documents, backend=backend)


def maxsim_topk(
    query: np.ndarray, documents: Sequence[np.ndarray], k: int, ids: np.ndarray | None = None,
    *, backend: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` documents by MaxSim: ``(scores, ids)`` sorted by descending score.

    ``ids`` names the documents (default ``0..n-1``); ties keep the lower position first.
    """
    scores = maxsim_scores(query, documents, backend=backend)
    ids = np.arange(len(documents)) if ids is None else np.asarray(ids)
    k = min(k, len(scores))
    top = np.argsort(-scores, kind="stable")[:k]
    return scores[top], ids[top]
