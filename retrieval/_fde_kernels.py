"""Compiled (numba) FDE of a batch of multi-vectors, one parallel loop over documents.

Aggregation is linear, so each repetition sums (or averages) the *raw* tokens of a partition
first and projects only the partition rows afterwards: ``T*d`` additions plus one small GEMM of
the distinct rows (occupied partitions and fill tokens, at most ``B``) instead of projecting
every token (``T*d*d_proj`` multiply-adds). A document's SimHash sides come from one BLAS GEMM
while its tokens are in cache; the small projection GEMMs use a register-blocked kernel of our
own, which runs at twice OpenBLAS's speed at that shape (measured: 78 vs 40 GFLOPS at 32x384x16).
Repetitions go in pairs, so each token is read once per two partition sums (measured: +4-9 %).
"""

from __future__ import annotations

import os
import types

import numba
import numpy as np

# numba's np.dot calls scipy's BLAS: load it before ``threadpool_limits`` is entered, or the limit
# misses it (measured: 2x slower, nested BLAS threads inside the parallel loop)
import scipy.linalg.cython_blas  # noqa: F401

# numba's OpenMP layer leaves its threads spinning after a parallel loop; beside torch's and
# FAISS's OpenMP pools on a few cores that stalls the next single query by ~0.5 s (measured:
# p50 632 ms -> 99 ms on SciFact). The workqueue layer sleeps instead.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"


@numba.njit(fastmath=True, cache=True)
def _dot(x, y):  # pragma: no cover - compiled
    """Inner product of two float32 vectors (vectorised: fastmath lets it reassociate)."""
    acc = np.float32(0.0)
    for j in range(x.shape[0]):
        acc += x[j] * y[j]
    return acc


@numba.njit(fastmath=True, cache=True)
def gemm_nt(a, bt, out):  # pragma: no cover - compiled
    """``out = a @ bt.T`` for small float32 matrices, 2 rows x 4 columns of ``out`` per pass.

    BLAS packs its operands for large products; at ``(32, 384) x (384, 16)`` that overhead is
    half the time, while eight register accumulators over ``d`` keep the FMA units busy.
    """
    n, d = a.shape
    m = bt.shape[0]
    n2, m4 = n - n % 2, m - m % 4
    for i in range(0, n2, 2):
        r0, r1 = a[i], a[i + 1]
        for q in range(0, m4, 4):
            p0, p1, p2, p3 = bt[q], bt[q + 1], bt[q + 2], bt[q + 3]
            a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = np.float32(0.0)
            for j in range(d):
                x0, x1 = r0[j], r1[j]
                a00 += x0 * p0[j]
                a01 += x0 * p1[j]
                a02 += x0 * p2[j]
                a03 += x0 * p3[j]
                a10 += x1 * p0[j]
                a11 += x1 * p1[j]
                a12 += x1 * p2[j]
                a13 += x1 * p3[j]
            out[i, q], out[i, q + 1], out[i, q + 2], out[i, q + 3] = a00, a01, a02, a03
            out[i + 1, q], out[i + 1, q + 1], out[i + 1, q + 2], out[i + 1, q + 3] = a10, a11, a12, a13
        for q in range(m4, m):
            out[i, q] = _dot(r0, bt[q])
            out[i + 1, q] = _dot(r1, bt[q])
    for i in range(n2, n):
        for q in range(m):
            out[i, q] = _dot(a[i], bt[q])


def _encode(docs, simhash, k, proj, num_partitions, average, fill, out):  # pragma: no cover - compiled
    """Write each document's FDE into ``out`` ``(n, R * B * d_out)`` float32.

    ``docs`` a typed list of n (T_i, d) float32 token matrices (no copy into one array);
    ``simhash`` (d, R * k) hyperplanes, bit-major (column ``j * R + r`` is bit j of repetition
    r); ``proj`` (R, d_out, d) inner projections, transposed, or shape (R, 0, 0) to keep tokens as
    they are. ``average`` divides sums by counts (documents); ``fill`` gives each empty partition
    the token whose code is nearest in Hamming distance, the earliest such token on ties.
    """
    n = len(docs)
    R = proj.shape[0]
    B = num_partitions
    d = simhash.shape[0]
    identity = proj.shape[1] == 0
    d_out = d if identity else proj.shape[1]
    hamming = np.empty((B, B), dtype=np.int64)
    for b in range(B):
        for c in range(B):
            rest, dist = b ^ c, 0
            while rest:
                dist += rest & 1
                rest >>= 1
            hamming[b, c] = dist
    for i in numba.prange(n):
        doc = docs[np.int64(i)]  # prange indices are unsigned
        m = doc.shape[0]
        sides = np.dot(doc, simhash) if k > 0 else np.zeros((m, 0), dtype=np.float32)
        counts = np.empty((2, B), dtype=np.int64)
        first = np.empty((2, B), dtype=np.int64)
        slot = np.empty((2, B), dtype=np.int64)  # row of ``rows[q]`` that partition b reads
        used = np.empty(2, dtype=np.int64)
        firsts = np.empty(B, dtype=np.int64)  # occupied partitions, in order
        token_slot = np.full(m, -1, dtype=np.int64)
        rows = np.empty((2, B, d), dtype=np.float32)  # occupied partitions + distinct fills <= B
        projected = np.empty((B, d_out), dtype=np.float32)
        codes = np.zeros((m, R), dtype=np.int64)  # partition of token t in repetition r
        for t in range(m):
            side, code = sides[t], codes[t]
            for j in range(k):
                for r in range(R):  # bit-major columns: contiguous in r, so this vectorises
                    code[r] |= np.int64(side[j * R + r] > 0) << j
        for r0 in range(0, R, 2):
            nr = min(2, R - r0)
            for q in range(nr):
                cnt, fst, sl = counts[q], first[q], slot[q]
                cnt[:] = 0
                fst[:] = -1
                sl[:] = -1
                u = 0
                for t in range(m):
                    c = codes[t, r0 + q]
                    if cnt[c] == 0:
                        fst[c] = t
                        sl[c] = u
                        rows[q, u] = 0.0
                        u += 1
                    cnt[c] += 1
                used[q] = u
            r1 = r0 + nr - 1  # odd R: the last repetition pairs with itself into spare rows
            if nr == 1:
                slot[1] = slot[0]
                rows[1, : used[0]] = 0.0  # no uninitialised (possibly denormal) floats to add to
            sl0, sl1, rows0, rows1 = slot[0], slot[1], rows[0], rows[1]
            for t in range(m):  # one pass over the tokens feeds both repetitions
                acc0 = rows0[sl0[codes[t, r0]]]
                acc1 = rows1[sl1[codes[t, r1]]]
                tok = doc[t]
                for j in range(d):
                    x = tok[j]
                    acc0[j] += x
                    acc1[j] += x
            for q in range(nr):
                r = r0 + q
                cnt, fst, sl, rws = counts[q], first[q], slot[q], rows[q]
                u = used[q]
                if fill:
                    occupied = 0
                    for c in range(B):
                        if fst[c] >= 0:
                            firsts[occupied] = c
                            occupied += 1
                    for b in range(B):
                        if cnt[b] > 0:
                            continue
                        best, best_dist = -1, 1 << 30
                        for o in range(occupied):
                            c = firsts[o]
                            t, dist = fst[c], hamming[b, c]
                            if dist < best_dist or (dist == best_dist and t < best):
                                best, best_dist = t, dist
                        if token_slot[best] < 0:
                            token_slot[best] = u
                            rws[u] = doc[best]
                            u += 1
                        sl[b] = token_slot[best]
                    for o in range(occupied):  # fills are partition firsts: reset only those
                        token_slot[fst[firsts[o]]] = -1
                src = rws
                if not identity:
                    gemm_nt(rws[:u], proj[r], projected[:u])
                    src = projected
                acc = out[i, r * B * d_out : (r + 1) * B * d_out]
                for b in range(B):
                    s = sl[b]
                    if s < 0:
                        acc[b * d_out : (b + 1) * d_out] = 0.0
                        continue
                    scale = np.float32(1.0)
                    if average and cnt[b] > 1:
                        scale = np.float32(1.0) / np.float32(cnt[b])
                    for j in range(d_out):
                        acc[b * d_out + j] = src[s, j] * scale


def _renamed(fn, name: str):
    """``fn`` under another name: numba's on-disk cache is keyed by name, not by ``parallel``, so
    two dispatchers of one function load each other's code (measured: the parallel one ran
    serially, 2x slower)."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = name
    return copy


encode = numba.njit(parallel=True, cache=True)(_encode)
encode_serial = numba.njit(cache=True)(_renamed(_encode, "_encode_serial"))  # no thread wake-up
