"""End-to-end MUVERA query latency at scale: FDE query encoding, FAISS MIPS (Flat and HNSW) for
100 candidates, float16 token fetch from the memory-mapped store and exact MaxSim re-rank.

Builds real index versions (``index.build.publish_encoded``) over clustered synthetic
multi-vectors in a scratch directory, then times single queries through ``Searcher``::

    .venv/bin/python -m bench.search_latency                 # 100k docs x 32 tokens x 128-d
    .venv/bin/python -m bench.search_latency --docs 20000 --json
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._data import emit, synthetic
from index.build import BuildParams, publish_encoded
from index.manifest import EncoderInfo
from index.reader import open_index
from retrieval.corpus import Document
from retrieval.search import Searcher

_CHUNK = 10_000


def _corpus(n_docs: int, tokens: int, dim: int, n_queries: int):
    """Clustered docs in chunks (fresh centres per chunk keeps memory bounded) and queries."""
    docs, queries = [], []
    for seed, start in enumerate(range(0, n_docs, _CHUNK)):
        d, q = synthetic(min(_CHUNK, n_docs - start), tokens, dim, n_queries if seed == 0 else 0,
                         query_tokens=16, seed=seed)
        docs += [x.astype(np.float16) for x in d]
        queries += q
    return docs, queries


def _time_queries(searcher: Searcher, queries, candidates: int, warmup: int = 10):
    for q in queries[:warmup]:
        searcher.rank_multivectors([q], 10, candidates)
    times, results = [], []
    for q in queries:
        start = time.perf_counter()
        (_, ids), = searcher.rank_multivectors([q], 10, candidates)
        times.append(time.perf_counter() - start)
        results.append(ids)
    return np.array(times) * 1000, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--tokens", type=int, default=32, help="token vectors per document")
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--factories", default="Flat,HNSW32")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    start = time.perf_counter()
    tokens, queries = _corpus(args.docs, args.tokens, args.dim, args.queries)
    docs = [Document(id=str(i), text="synthetic") for i in range(len(tokens))]
    pooled = np.zeros((len(tokens), args.dim), np.float32)
    generated = time.perf_counter() - start
    encoder = EncoderInfo(model_id="synthetic", dim=args.dim, max_length=args.tokens)
    scratch = Path(tempfile.mkdtemp(prefix="matlas-latency-"))
    rows, reference = [], None
    try:
        for factory in args.factories.split(","):
            start = time.perf_counter()
            publish_encoded(docs, tokens, pooled, scratch / factory.replace(",", "_"), encoder,
                            BuildParams(factory=factory, dense=False, bm25=False))
            build_s = time.perf_counter() - start
            searcher = Searcher(open_index(scratch / factory.replace(",", "_")), None, candidates=args.candidates)
            ms, results = _time_queries(searcher, queries, args.candidates)
            if reference is None:
                reference = results
            agree = np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(results, reference)])
            rows.append({
                "index": factory, "docs": len(tokens), "fde_dim": searcher.index.manifest.fde_dim,
                "build_s": round(build_s, 1), "p50_ms": round(float(np.percentile(ms, 50)), 2),
                "p99_ms": round(float(np.percentile(ms, 99)), 2), "qps": round(1000 / float(ms.mean()), 1),
                f"top10_vs_{args.factories.split(',')[0]}": round(float(agree), 3),
            })
            del searcher
            shutil.rmtree(scratch / factory.replace(",", "_"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    emit(rows, args.json, {"tokens_per_doc": args.tokens, "dim": args.dim, "queries": args.queries,
                           "candidates": args.candidates, "generate_s": round(generated, 1)})


if __name__ == "__main__":
    main()
