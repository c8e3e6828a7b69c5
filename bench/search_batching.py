"""What batching concurrent searches saves: CPU per query of ``Searcher.rank_batch`` on the default
``materials`` index at batch sizes 1, 4, 16 and 64, with the shared re-rank (one MaxSim of the batch
against the union of its candidates) and without it (one re-rank per query), timed round-robin::

    .venv/bin/python -m bench.search_batching [--backend onnx] [--rounds 3] [--json]

``cpu_ms_per_query`` is this process's CPU time (all threads) per query, the figure that bounds
throughput on a saturated machine; ``encode_cpu_ms`` is the query-encoding share. The index is the
one ``bench.encode_search`` builds into ``.cache/bench/home-<backend>``.
"""

from __future__ import annotations

import argparse
import time

from bench._data import emit
from bench.encode_search import QUERIES, _home

BATCHES = (1, 4, 16, 64)


def _cpu_per_query(fn, queries: list[str], batch: int) -> float:
    start = time.process_time()
    for i in range(0, len(queries), batch):
        fn(queries[i : i + batch])
    return 1000 * (time.process_time() - start) / len(queries)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="onnx", choices=["torch", "onnx", "onnx-int8"])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per configuration (median reported)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import retrieval.search as search
    from retrieval.encoder_cache import EncoderCache
    from retrieval.encoders.options import EncoderOptions
    from retrieval.service import SearchService

    home = _home(args.backend)
    options = EncoderOptions(device="cpu", backend=args.backend, cache_dir=home / "cache" / "encoders")
    searcher = SearchService(home / "indexes", EncoderCache(options)).searcher("materials")
    searcher.search("warm-up", 1)
    queries = (QUERIES * 4)[:64]
    shared_limit = search.SHARED_RERANK_MAX_WORK
    rows = []
    for batch in BATCHES:
        row: dict = {"batch": batch}
        for label, limit in (("shared", shared_limit), ("per_query", 0.0)):
            search.SHARED_RERANK_MAX_WORK = limit
            try:
                runs = sorted(_cpu_per_query(lambda qs: searcher.rank_batch(qs, 10), queries, batch)
                              for _ in range(args.rounds))
            finally:
                search.SHARED_RERANK_MAX_WORK = shared_limit
            row[f"cpu_ms_per_query_{label}"] = round(runs[len(runs) // 2], 1)
        row["encode_cpu_ms"] = round(_cpu_per_query(
            lambda qs: searcher.encoder.encode(qs, kind="query", output="both"), queries, batch), 1)
        rows.append(row)
    base = rows[0]["cpu_ms_per_query_per_query"]
    for row in rows:
        row["x_vs_single"] = round(base / row["cpu_ms_per_query_shared"], 2)
    emit(rows, args.json, {"index": "materials", "documents": searcher.index.manifest.documents,
                           "candidates": searcher.candidates, "backend": args.backend})
    return rows


if __name__ == "__main__":
    main()
