"""Development figures on BEIR SciFact (train queries): nDCG@10, Recall@100, MRR@10 per mode.

Builds the index once through the real path (``index.build.build_index`` with the default
encoder) into ``.cache/bench/indexes/scifact`` and reuses it while the corpus is unchanged::

    .venv/bin/python -m bench.scifact                       # all modes, 100 candidates
    .venv/bin/python -m bench.scifact --candidates 100,200 --modes muvera --json
"""

from __future__ import annotations

import argparse
import sys
import time

from bench._data import CACHE, SCIFACT, emit
from index.build import BuildParams, build_index
from index.manifest import IndexManifest
from index.reader import open_index
from index.versions import IndexRoot
from retrieval.corpus import chain_checksum, load_corpus, load_qrels, load_queries
from retrieval.encoder import MultiVectorEncoder
from retrieval.metrics import evaluate
from retrieval.search import Searcher

_SINGLE = 50


def _index(encoder: MultiVectorEncoder) -> IndexRoot:
    docs = load_corpus(SCIFACT / "corpus.jsonl")
    root = IndexRoot(CACHE / "indexes" / "scifact")
    if root.exists() and IndexManifest.read(root.current_path()).corpus_sha256 == chain_checksum("", docs):
        return root
    start = time.perf_counter()
    build_index(docs, root.path, encoder, BuildParams())
    print(f"built {root.path} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="dense,muvera,exact,hybrid")
    parser.add_argument("--candidates", default="100", help="comma-separated FDE candidate counts")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not SCIFACT.is_dir():
        sys.exit(f"SciFact is not at {SCIFACT}; nothing to measure")

    encoder = MultiVectorEncoder()
    searcher = Searcher(open_index(_index(encoder).path), encoder)
    qrels = load_qrels(SCIFACT / "qrels" / "train.tsv")
    queries = [q for q in load_queries(SCIFACT / "queries.jsonl") if q.id in qrels]
    ids = [d.id for d in searcher.index.documents]
    rows = []
    for mode in args.modes.split(","):
        for candidates in map(int, args.candidates.split(",")) if mode in ("muvera", "hybrid") else [None]:
            start = time.perf_counter()
            ranked = searcher.rank_batch([q.text for q in queries], 100, mode=mode, candidates=candidates)
            seconds = time.perf_counter() - start
            run = {q.id: [ids[i] for i in positions] for q, (_, positions) in zip(queries, ranked)}
            metrics = evaluate(run, qrels)
            single = []
            for q in queries[:_SINGLE]:  # one query per call, as a user's request is served
                start = time.perf_counter()
                searcher.search(q.text, 10, mode=mode, candidates=candidates)
                single.append(time.perf_counter() - start)
            rows.append({"mode": mode, "candidates": candidates or "-", "ndcg@10": round(metrics["ndcg@10"], 4),
                         "recall@100": round(metrics["recall@100"], 4), "mrr@10": round(metrics["mrr@10"], 4),
                         "batch ms/query": round(1000 * seconds / len(queries), 1),
                         "p50 ms (single)": round(1000 * sorted(single)[len(single) // 2], 1)})
    emit(rows, args.json, {"queries": len(queries), "documents": len(ids), "encoder": encoder.model_id})


if __name__ == "__main__":
    main()
