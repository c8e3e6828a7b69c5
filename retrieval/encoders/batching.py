"""Batches that waste nothing: texts sorted by token count, each batch under a padded-token budget.

A batch of ``b`` sequences padded to the longest, ``l`` tokens, costs ``b * l`` token slots; the
plan keeps that under ``max_tokens`` (and ``b`` under ``max_batch``), so short texts travel in
large batches and long ones in small batches, with little padding either way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["pad", "plan_batches"]


def plan_batches(lengths: Sequence[int], max_tokens: int, max_batch: int) -> list[np.ndarray]:
    """Positions of ``lengths`` grouped into batches, longest first; every position once.

    >>> [b.tolist() for b in plan_batches([3, 9, 4, 8], max_tokens=18, max_batch=8)]
    [[1, 3], [2, 0]]
    """
    if max_tokens < 1 or max_batch < 1:
        raise ValueError("max_tokens and max_batch must be positive")
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    batches, start = [], 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        size = max(1, min(max_batch, max_tokens // longest, len(order) - start))
        batches.append(order[start : start + size])
        start += size
    return batches


def pad(ids: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask)``, int64 ``(n, longest)``, right-padded with ``pad_id``.

    >>> pad([[5, 6, 7], [8]])[1].tolist()
    [[1, 1, 1], [1, 0, 0]]
    """
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    mask = (np.arange(int(lengths.max())) < lengths[:, None]).astype(np.int64)
    out = np.full(mask.shape, pad_id, dtype=np.int64)
    out[mask.astype(bool)] = np.fromiter((t for x in ids for t in x), dtype=np.int64, count=int(lengths.sum()))
    return out, mask
