"""FDE recall against exact Chamfer, matlas vs the reference MUVERA implementations, same data.

For each implementation x FDE params (R, k_sim, d_proj):

* ``fde@10`` / ``fde@100``: fraction of the exact-Chamfer top-10 found in the FDE top-10 / top-100
  (FDE inner product over all documents);
* ``e2e@10 C=...``: recall of the exact top-10 after re-ranking the FDE top-C with exact MaxSim;
* ``doc_enc_s`` / ``docs/s``: FDE encode time of the whole corpus (after a dropped warm-up run).

Exact scores come from one batched Chamfer pass (``bench._data.chamfer_matrix``); re-ranking
looks candidates up in it, and is checked against ``retrieval.maxsim.maxsim_scores`` on the first
queries' candidates. Implementations: ``matlas`` (retrieval.fde), ``fastembed``
(fastembed.postprocess.muvera.Muvera, one document per call) and ``muvera-python``
(muvera.Muvera, AMS-sketch projection, batched).

Usage (from the repository root)::

    .venv/bin/python -m bench.fde_recall                      # synthetic 5,000 x 64 x 128-d
    .venv/bin/python -m bench.fde_recall --docs 500 --queries 50
    .venv/bin/python -m bench.fde_recall --dataset scifact [--max-docs 1000]
    .venv/bin/python -m bench.fde_recall --impl matlas --json
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from bench._data import (
    IMPLEMENTATIONS,
    DataUnavailable,
    as_f32,
    chamfer_matrix,
    emit,
    make_encoder,
    scifact,
    synthetic,
    topk,
)
from retrieval.maxsim import maxsim_scores

PARAMS = [(20, 5, 16), (20, 4, 8)]
K = 10


def overlap(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of each row of ``truth`` present in the same row of ``found``."""
    return round(float(np.mean([len(np.intersect1d(f, t)) / len(t) for f, t in zip(found, truth)])), 4)


def rerank(cands: np.ndarray, exact: np.ndarray, k: int = K) -> np.ndarray:
    """Top-``k`` of each row of candidates by exact Chamfer score."""
    scores = np.take_along_axis(exact, cands, axis=1)
    return np.take_along_axis(cands, topk(scores, k), axis=1)


def check_rescoring(cands, exact, queries, docs, n=3) -> None:
    """The exact-score lookup used for re-ranking equals maxsim_scores on the candidates."""
    for qi in range(min(n, len(queries))):
        ref = maxsim_scores(queries[qi], [docs[j] for j in cands[qi]])
        if not np.allclose(ref, exact[qi, cands[qi]], rtol=1e-4, atol=1e-3):
            raise AssertionError(f"chamfer_matrix disagrees with maxsim_scores on query {qi}")


def evaluate(name, params, docs, queries, exact, truth, candidates) -> dict:
    r, k, dp = params
    row = {"impl": name, "R/k_sim/d_proj": f"{r}/{k}/{dp}", "dims": r * 2**k * dp}
    try:
        enc_docs, enc_queries = make_encoder(name, docs[0].shape[1], r, k, dp)
        enc_docs(docs[:20])  # warm-up, dropped
        t0 = time.perf_counter()
        fde_docs = enc_docs(docs)
        elapsed = time.perf_counter() - t0
        fde_queries = enc_queries(queries)
    except Exception as err:  # noqa: BLE001 - a reference that cannot run this combination
        return {**row, "note": f"n/a: {type(err).__name__}: {err}"[:120]}
    scores = np.asarray(fde_queries, dtype=np.float32) @ np.asarray(fde_docs, np.float32).T
    order = topk(scores, max(100, *candidates))
    row.update({"doc_enc_s": round(elapsed, 2), "docs/s": round(len(docs) / elapsed),
                "fde@10": overlap(order[:, :K], truth), "fde@100": overlap(order[:, :100], truth)})
    check_rescoring(order[:, : max(candidates)], exact, queries, docs)
    for c in candidates:
        row[f"e2e@10 C={c}"] = overlap(rerank(order[:, :c], exact), truth)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", choices=["synthetic", "scifact"], default="synthetic")
    ap.add_argument("--docs", type=int, default=5000, help="synthetic: number of documents")
    ap.add_argument("--queries", type=int, default=200, help="synthetic: number of queries")
    ap.add_argument("--max-docs", type=int, default=None, help="scifact: first N corpus docs")
    ap.add_argument("--impl", nargs="+", choices=list(IMPLEMENTATIONS), default=list(IMPLEMENTATIONS))
    ap.add_argument("--candidates", type=int, nargs="+", default=[100, 200, 500])
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)

    if args.dataset == "scifact":
        try:
            docs, queries = scifact(args.max_docs)
        except DataUnavailable as err:
            print(f"skipping scifact: {err}", file=sys.stderr)
            return 0
    else:
        docs, queries = synthetic(args.docs, n_queries=args.queries)
    docs, queries = as_f32(docs), as_f32(queries)
    t0 = time.perf_counter()
    exact = chamfer_matrix(queries, docs)
    truth = topk(exact, K)
    meta = {"dataset": args.dataset, "docs": len(docs), "queries": len(queries),
            "dim": docs[0].shape[1], "doc_tokens": round(float(np.mean([len(d) for d in docs])), 1),
            "query_tokens": round(float(np.mean([len(q) for q in queries])), 1),
            "exact_s": round(time.perf_counter() - t0, 1)}
    candidates = [c for c in args.candidates if c <= len(docs)]
    rows = [evaluate(name, p, docs, queries, exact, truth, candidates)
            for p in PARAMS for name in args.impl]
    emit(rows, args.json, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
