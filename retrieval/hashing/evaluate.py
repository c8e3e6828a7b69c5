"""Hamming ranking and mAP@all, the standard figure of cross-modal hashing papers."""

from __future__ import annotations

import numpy as np

from retrieval.hashing.base import unpack_codes

__all__ = ["hamming_distances", "map_at_all"]


def hamming_distances(queries: np.ndarray, database: np.ndarray) -> np.ndarray:
    """Hamming distances ``(n_q, n_db)`` int32 between packed uint8 codes ``(n, nbytes)``.

    >>> hamming_distances(np.array([[0b1011]], np.uint8), np.array([[0], [0b1010]], np.uint8)).tolist()
    [[3, 1]]
    """
    q, d = unpack_codes(queries).astype(np.int32), unpack_codes(database).astype(np.int32)
    return (q.shape[1] - q @ d.T) // 2


def map_at_all(queries: np.ndarray, database: np.ndarray, query_labels: np.ndarray, db_labels: np.ndarray) -> float:
    """Mean average precision over the full Hamming ranking; ties keep database order; relevance = same label.

    Queries with no relevant database item count as 0.

    >>> codes = np.array([[0], [1], [3]], np.uint8)
    >>> round(map_at_all(codes[:1], codes, np.array([0]), np.array([0, 1, 0])), 4)  # ranks 1 and 3
    0.8333
    """
    dist = hamming_distances(queries, database)
    order = np.argsort(dist, axis=1, kind="stable")
    rel = (np.asarray(db_labels)[order] == np.asarray(query_labels)[:, None]).astype(np.float64)
    hits = np.cumsum(rel, axis=1)
    precision = hits / np.arange(1, rel.shape[1] + 1)
    n_rel = rel.sum(1)
    ap = np.divide((precision * rel).sum(1), n_rel, out=np.zeros(len(rel)), where=n_rel > 0)
    return float(ap.mean())
