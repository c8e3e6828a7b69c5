"""MaxSim re-ranking throughput: the padded torch-matmul baseline vs matlas's CPU path (and Triton).

One query of 20 tokens against a batch of candidate documents (default C=300, then 5,000) with
lognormal lengths clipped to 30-200 tokens, 384 dims, unit-norm tokens stored as float16 and read
through read-only views like the memory-mapped token store. Implementations are timed round-robin
(the order rotates each round, so load on a shared machine hits all alike); after ``--warmup``
dropped rounds the median of ``--repeat`` rounds is reported as ms per re-rank, documents/s and a
ratio to the padded baseline on the same device, with the largest score difference from it.

Usage (from the repository root)::

    .venv/bin/python -m bench.maxsim
    .venv/bin/python -m bench.maxsim --batches 300 --block-tokens 1024 4096 16384 --threads 1
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

import numpy as np
import torch

from bench._data import emit, time_round_robin
from gpu.kernels import maxsim_cpu, maxsim_padded, score_batch
from gpu.kernels.maxsim_cpu import BLOCK_TOKENS


def make_batch(n_docs: int, *, query_tokens=20, dim=384, min_len=30, max_len=200, seed=0):
    """``(query (n_q, dim) float32, documents)``: read-only float16 ``(n_j, dim)`` views of one store."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(70), 0.6, n_docs), min_len, max_len).astype(np.int64)
    store = rng.standard_normal((int(lengths.sum()), dim), dtype=np.float32)
    store = (store / np.linalg.norm(store, axis=1, keepdims=True)).astype(np.float16)
    store.flags.writeable = False
    docs = np.split(store, np.cumsum(lengths)[:-1])
    order = rng.permutation(n_docs)  # candidates come in score order, not storage order
    query = rng.standard_normal((query_tokens, dim), dtype=np.float32)
    return query / np.linalg.norm(query, axis=1, keepdims=True), [docs[i] for i in order]


def implementations(query, docs, block_tokens: list[int]) -> dict[str, tuple[str, Callable]]:
    """name -> (device, function returning ``(n_docs,)`` scores) for the implementations to time."""
    offsets = np.array([0, len(query)])
    impls = {"torch padded": ("cpu", lambda: maxsim_padded([query], docs)[0])}
    for b in block_tokens or [BLOCK_TOKENS]:
        name = f"matlas cpu b={b}" if block_tokens else "matlas cpu"
        impls[name] = ("cpu", lambda b=b: maxsim_cpu(query, offsets, docs, block_tokens=b)[0])
    if torch.cuda.is_available():
        impls["torch padded (cuda)"] = ("cuda", lambda: maxsim_padded([query], docs, device="cuda")[0])
        impls["matlas triton"] = ("cuda", lambda: score_batch([query], docs, backend="triton")[0])
    return impls


def _synced(device: str, fn: Callable) -> Callable[[], object]:
    """``fn`` that returns only once its device work is done (CUDA launches are asynchronous)."""
    if device != "cuda":
        return fn
    return lambda: (fn(), torch.cuda.synchronize())


def run(n_docs: int, block_tokens: list[int], warmup: int, repeat: int) -> list[dict]:
    """One row per implementation for a batch of ``n_docs`` candidates."""
    query, docs = make_batch(n_docs)
    impls = implementations(query, docs, block_tokens)
    reference = {d: impls[n][1]() for n, (d, _) in impls.items() if n.startswith("torch padded")}
    times = time_round_robin({n: _synced(d, fn) for n, (d, fn) in impls.items()}, warmup, repeat)
    medians = {n: float(np.median(t)) for n, t in times.items()}
    baseline = {impls[n][0]: s for n, s in medians.items() if n.startswith("torch padded")}
    rows = []
    for name, (device, fn) in impls.items():
        rows.append({
            "docs": n_docs, "tokens": sum(len(d) for d in docs), "impl": name, "device": device,
            "ms": round(medians[name] * 1e3, 2), "docs/s": round(n_docs / medians[name]),
            "x padded": f"{baseline[device] / medians[name]:.2f}",
            "max |d|": f"{np.abs(fn() - reference[device]).max():.1e}",
        })
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[300, 5000], help="candidates per re-rank")
    ap.add_argument("--block-tokens", type=int, nargs="+", default=[],
                    help=f"CPU path block sizes to time, one row each (default {BLOCK_TOKENS})")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [row for n in args.batches for row in run(n, args.block_tokens, args.warmup, args.repeat)]
    meta = {"query_tokens": 20, "dim": 384, "storage": "float16", "threads": torch.get_num_threads(),
            "cpus": os.cpu_count(), "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else "-"}
    emit(rows, args.json, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
