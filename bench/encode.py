"""Encoder throughput, query latency and retrieval quality per backend, in one run on the same texts.

Variants: ``torch-today`` (the encoder before issue 17: fixed batches of 32 texts in
character-length order, sentence-transformers' tokenizer call and torch modules in the loop),
``torch`` (token-budget batches in token-count order, tokenization ahead of inference), ``onnx``
(ONNX Runtime fp32) and ``onnx-int8`` (dynamic int8 weights). Per variant: documents/s over the
first N SciFact documents (``--docs 1000,5183`` for the whole corpus too) and documents per
CPU-second of this process (less sensitive to other processes on a shared machine), single-query
encoding p50/p99 (and CPU ms p50) over the shortest ``--queries`` queries, and nDCG@10 / Recall@100 / MRR@10 on the train queries (muvera
and dense modes) over a retrieval corpus of the first ``--quality-docs`` documents plus every
document judged relevant (``--quality-docs 5183``: the whole corpus). The variants are timed in
the same run, so their ratios hold on a shared machine::

    .venv/bin/python -m bench.encode                       # 1,000 docs, 1,000 queries, quality
    .venv/bin/python -m bench.encode --docs 1000,5183 --quality-docs 5183 --json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench._data import CACHE, SCIFACT, emit
from index.build import BuildParams, publish_encoded
from index.manifest import EncoderInfo
from index.reader import open_index
from retrieval.corpus import load_corpus, load_qrels, load_queries
from retrieval.encoder import MultiVectorEncoder
from retrieval.metrics import evaluate
from retrieval.search import Searcher

VARIANTS = {"torch-today": "torch", "torch": "torch", "onnx": "onnx", "onnx-int8": "onnx-int8"}


@torch.inference_mode()
def _todays_forward(encoder: MultiVectorEncoder, texts: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
    """The pre-issue-17 forward pass: sentence-transformers' tokenizer call and torch modules."""
    st = encoder._st
    features = st.preprocess(texts)
    out = st(features)
    hidden, pooled = out["token_embeddings"], out["sentence_embedding"]
    keep = features["attention_mask"].bool() & ~torch.isin(features["input_ids"], torch.from_numpy(encoder._special))
    hidden = torch.nn.functional.normalize(hidden.float(), dim=-1)
    pooled = torch.nn.functional.normalize(pooled.float(), dim=-1).numpy()
    return [(row[k] if k.any() else row[:1]).numpy() for row, k in zip(hidden, keep)], pooled


def _todays_encode(encoder: MultiVectorEncoder, texts: list[str], batch_size: int = 32):
    """The pre-issue-17 loop: character-length order, fixed batch count, tokenize inside the loop."""
    order = np.argsort([-len(t) for t in texts], kind="stable")
    tokens, pooled = [None] * len(texts), np.zeros((len(texts), encoder.dim), np.float32)
    for start in range(0, len(texts), batch_size):
        idx = order[start : start + batch_size]
        token_batch, pooled[idx] = _todays_forward(encoder, [texts[i] for i in idx])
        for i, mv in zip(idx, token_batch):
            tokens[i] = mv
    return tokens, pooled


def _encode(variant: str, encoder: MultiVectorEncoder, texts: list[str], kind: str = "document"):
    if variant == "torch-today":
        return _todays_encode(encoder, texts)
    return encoder.encode(texts, kind=kind, output="both", show_progress_bar=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--docs", default="1000", help="comma-separated document counts (first N, file order)")
    parser.add_argument("--block", type=int, default=200, help="documents per timed block (variants rotate per block)")
    parser.add_argument("--queries", type=int, default=1000, help="shortest queries timed one at a time")
    parser.add_argument("--quality-docs", type=int, default=1000, help="retrieval corpus: first N docs + all relevant")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--cache-dir", type=Path, default=CACHE / "onnx", help="ONNX export cache")
    parser.add_argument("--scifact", type=Path, default=SCIFACT, help="BEIR SciFact folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scifact = args.scifact
    if not scifact.is_dir():
        sys.exit(f"SciFact is not at {scifact}; nothing to measure")

    corpus = load_corpus(scifact / "corpus.jsonl")
    all_queries = load_queries(scifact / "queries.jsonl")
    short = [q.text for q in sorted(all_queries, key=lambda q: len(q.text))[: args.queries]]
    qrels = load_qrels(scifact / "qrels" / "train.tsv")
    train = [q for q in all_queries if q.id in qrels]
    relevant = {d for rels in qrels.values() for d, r in rels.items() if r > 0}
    quality_docs = [d for i, d in enumerate(corpus) if i < args.quality_docs or d.id in relevant]
    counts = [int(n) for n in args.docs.split(",")]

    variants = args.variants.split(",")
    encoders: dict[str, MultiVectorEncoder] = {}
    for variant in variants:
        if VARIANTS[variant] not in encoders:
            encoders[VARIANTS[variant]] = MultiVectorEncoder(device="cpu", backend=VARIANTS[variant], cache_dir=args.cache_dir)
    rows = {v: {"variant": v} for v in variants}
    for n in counts:  # blocks of documents, variants in rotating order: load on a shared machine hits all alike
        texts = [d.content for d in corpus[:n]]
        seconds, cpu = dict.fromkeys(variants, 0.0), dict.fromkeys(variants, 0.0)
        for b, start in enumerate(range(0, n, args.block)):
            for variant in variants[b % len(variants):] + variants[: b % len(variants)]:
                t0, c0 = time.perf_counter(), time.process_time()
                _encode(variant, encoders[VARIANTS[variant]], texts[start : start + args.block])
                seconds[variant] += time.perf_counter() - t0
                cpu[variant] += time.process_time() - c0
        for variant in variants:
            rows[variant][f"docs/s@{n}"] = n / seconds[variant]
            rows[variant][f"docs/cpu-s@{n}"] = n / cpu[variant]
    latencies: dict[str, list[float]] = {v: [] for v in variants}
    cpu_ms: dict[str, list[float]] = {v: [] for v in variants}
    for variant in variants:
        _encode(variant, encoders[VARIANTS[variant]], short[:5], "query")  # warm
    for i, q in enumerate(short):
        for variant in variants[i % len(variants):] + variants[: i % len(variants)]:
            t0, c0 = time.perf_counter(), time.process_time()
            _encode(variant, encoders[VARIANTS[variant]], [q], "query")
            latencies[variant].append((time.perf_counter() - t0) * 1000)
            cpu_ms[variant].append((time.process_time() - c0) * 1000)
    for variant in variants:
        rows[variant]["query_p50_ms"] = float(np.percentile(latencies[variant], 50))
        rows[variant]["query_p99_ms"] = float(np.percentile(latencies[variant], 99))
        rows[variant]["query_cpu_p50_ms"] = float(np.percentile(cpu_ms[variant], 50))
        enc = encoders[VARIANTS[variant]]
        if not args.no_quality and variant != "torch-today":  # torch-today computes the same vectors as torch
            tokens, pooled = _encode(variant, enc, [d.content for d in quality_docs])
            with tempfile.TemporaryDirectory() as tmp:
                publish_encoded(quality_docs, tokens, pooled, Path(tmp) / "q", EncoderInfo.of(enc), BuildParams())
                searcher = Searcher(open_index(Path(tmp) / "q"), enc)
                ids = [d.id for d in quality_docs]
                for mode in ("muvera", "dense"):
                    ranked = searcher.rank_batch([q.text for q in train], 100, mode=mode)
                    scores = evaluate({q.id: [ids[i] for i in pos] for q, (_, pos) in zip(train, ranked)}, qrels)
                    rows[variant][f"{mode}_ndcg@10"] = scores["ndcg@10"]
                    rows[variant][f"{mode}_R@100"] = scores["recall@100"]
        print(rows[variant], file=sys.stderr, flush=True)
    rows = list(rows.values())
    base = next((r for r in rows if r["variant"] == "torch-today"), rows[0])
    for row in rows:
        for n in counts:
            row[f"x@{n}"] = row[f"docs/s@{n}"] / base[f"docs/s@{n}"]
            row[f"x_cpu@{n}"] = row[f"docs/cpu-s@{n}"] / base[f"docs/cpu-s@{n}"]
    emit(rows, args.json, {"quality_corpus": len(quality_docs), "train_queries": len(train),
                           "timed_queries": len(short), "baseline": base["variant"]})


if __name__ == "__main__":
    main()
