"""Reciprocal-rank fusion (Cormack et al., 2009) of ranked lists."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["reciprocal_rank_fusion"]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Fuse ranked id lists by ``sum 1 / (k + rank)``; returns ``(scores, ids)`` best first.

    >>> reciprocal_rank_fusion([[3, 1], [1, 2]], k=1)[1].tolist()
    [1, 3, 2]
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, 1):
            scores[int(doc)] = scores.get(int(doc), 0.0) + 1.0 / (k + rank)
    ids = sorted(scores, key=lambda d: (-scores[d], d))
    return np.array([scores[d] for d in ids], dtype=np.float32), np.array(ids, dtype=np.int64)
