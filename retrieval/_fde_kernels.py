"""Compiled (numba) aggregation step of the FDE: partition sums or averages of projected tokens
and the Hamming-nearest fill of empty partitions, one parallel loop over documents.

The token projections themselves come from one BLAS GEMM in ``fde.py``; what is left is small
(``T * R * d_proj`` additions) but irregular, which is what a compiled loop is for.
"""

from __future__ import annotations

import os

import numba
import numpy as np

# numba's OpenMP layer leaves its threads spinning after a parallel loop; beside torch's and
# FAISS's OpenMP pools on a few cores that stalls the next single query by ~0.5 s (measured:
# p50 632 ms -> 99 ms on SciFact). The workqueue layer sleeps instead.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"


def _aggregate(values, starts, codes, num_partitions, average, fill, out):  # pragma: no cover - compiled
    """Write each document's FDE into ``out`` ``(n, R * B * d_out)`` float32.

    ``values`` (T, R, d_out) projected tokens of n documents laid end to end (``starts``, n + 1
    offsets), or (T, 1, d_out) when every repetition sees the same vectors; ``codes`` (T, R)
    SimHash partition of each token. ``average`` divides sums by counts (documents); ``fill``
    copies into each empty partition the token whose code is nearest in Hamming distance, the
    earliest such token on ties.
    """
    n = starts.shape[0] - 1
    R = codes.shape[1]
    B = num_partitions
    d_out = values.shape[2]
    shared = values.shape[1] == 1
    for i in numba.prange(n):
        counts = np.empty(B, dtype=np.int64)
        first = np.empty(B, dtype=np.int64)
        for r in range(R):
            v = 0 if shared else r
            acc = out[i, r * B * d_out : (r + 1) * B * d_out]
            acc[:] = 0.0
            counts[:] = 0
            first[:] = -1
            for t in range(starts[i], starts[i + 1]):
                b = codes[t, r]
                if counts[b] == 0:
                    first[b] = t
                counts[b] += 1
                for j in range(d_out):
                    acc[b * d_out + j] += values[t, v, j]
            for b in range(B):
                if counts[b] > 1 and average:
                    scale = np.float32(1.0) / np.float32(counts[b])
                    for j in range(d_out):
                        acc[b * d_out + j] *= scale
                elif counts[b] == 0 and fill:
                    best, best_dist = -1, 1 << 30
                    for c in range(B):
                        t = first[c]
                        if t < 0:
                            continue
                        rest, dist = b ^ c, 0
                        while rest:
                            dist += rest & 1
                            rest >>= 1
                        if dist < best_dist or (dist == best_dist and t < best):
                            best, best_dist = t, dist
                    for j in range(d_out):
                        acc[b * d_out + j] = values[best, v, j]


aggregate = numba.njit(parallel=True, cache=True)(_aggregate)
aggregate_serial = numba.njit(cache=True)(_aggregate)  # small batches: no thread-pool wake-up
