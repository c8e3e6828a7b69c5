"""FAISS and Qdrant side by side on BEIR SciFact: nDCG@10 per mode, bytes per document, query latency.

Both backends get the same documents, encoder (all-MiniLM-L6-v2), FDE parameters and seed, and the
same token and pooled vectors (encoded once, cached in ``.cache/bench``). Qdrant runs in local mode
(``QdrantClient(":memory:")``), the client's in-process Python engine: its answers are those of the
server (the client's congruence tests), its latency is NOT the server's (Rust, HNSW, quantization).

Queries: the 809 train claims with their qrels (the development split ``../shared`` holds; the test
split is kept elsewhere). ``--max-docs N`` keeps every judged document plus the first others in
file order up to N (the default, 2000, fits the 2-core development machines: local-mode Qdrant
keeps token vectors as float64 in RAM and scores them in Python); ``--max-docs 0`` is the full corpus.

    .venv/bin/python -m bench.backends                     # 2000 documents, all modes
    .venv/bin/python -m bench.backends --max-docs 0 --json
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
import warnings

import numpy as np

from bench._data import CACHE, SCIFACT, emit
from index.build import BuildParams, publish_encoded
from index.manifest import EncoderInfo
from index.reader import open_index
from retrieval.corpus import Document, load_corpus, load_qrels, load_queries
from retrieval.encoder import MultiVectorEncoder
from retrieval.metrics import evaluate
from retrieval.search import Searcher

warnings.filterwarnings("ignore", message="Local mode performs exact")

_SINGLE = 10  # queries timed one by one, after 2 warm-up queries


def _subset(docs: list[Document], qrels: dict, max_docs: int) -> list[Document]:
    if not max_docs or max_docs >= len(docs):
        return docs
    judged = {d for rels in qrels.values() for d in rels}
    keep = {d.id for d in docs if d.id in judged}
    for d in docs:
        if len(keep) >= max_docs:
            break
        keep.add(d.id)
    return [d for d in docs if d.id in keep]


def _encoded(docs: list[Document], encoder: MultiVectorEncoder) -> tuple[list[np.ndarray], np.ndarray]:
    """Token (float16-exact) and pooled vectors of ``docs``, cached by content."""
    key = hashlib.sha256("".join(d.content for d in docs).encode()).hexdigest()[:16]
    path = CACHE / f"backends_{key}.npz"
    if path.exists():
        z = np.load(path)
        tokens = np.split(z["tokens"].astype(np.float32), np.cumsum(z["lengths"])[:-1])
        return tokens, z["pooled"]
    start = time.perf_counter()
    tokens, pooled = encoder.encode([d.content for d in docs], kind="document", output="both", show_progress_bar=True)
    print(f"encoded {len(docs)} documents in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, tokens=np.concatenate(tokens).astype(np.float16), lengths=[len(t) for t in tokens], pooled=pooled)
    return [t.astype(np.float16).astype(np.float32) for t in tokens], pooled


def _dir_bytes(path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def qdrant_bytes(manifest, docs: list[Document], sparse_terms: int) -> dict[str, float]:
    """Bytes per document of a Qdrant server holding this collection with its storage choices, by part:
    what lives in RAM and what on disk (vectors, HNSW links at level 0, sparse postings, payload)."""
    p, n, dim = manifest.storage, manifest.documents, manifest.encoder.dim
    fde_f32 = 4 * manifest.fde_dim
    fde_int8 = manifest.fde_dim if p.fde_quantization == "int8" else 0
    tok = (2 if p.token_datatype == "float16" else 4) * dim * manifest.tokens / n
    dense = 4 * dim if manifest.dense else 0
    links = 2 * p.hnsw_m * 4 * (2 if manifest.dense else 1)  # level-0 neighbours of the fde (and dense) graphs
    sparse = 8 * sparse_terms / n if manifest.bm25 else 0  # (point id, weight) per posting
    payload = sum(len(d.model_dump_json(by_alias=True)) for d in docs) / n
    ram = fde_int8 + (0 if p.fde_on_disk else fde_f32) + dense + links + sparse + (0 if p.tokens_on_disk else tok)
    disk = (fde_f32 if p.fde_on_disk else 0) + (tok if p.tokens_on_disk else 0) + payload
    return {"ram": ram, "disk": disk, "total": ram + disk, "tokens": tok, "fde": fde_f32 + fde_int8}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="muvera,dense,exact,hybrid")
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--max-docs", type=int, default=2000, help="documents kept (0: all 5,183)")
    parser.add_argument("--max-queries", type=int, default=0, help="queries kept (0: all; their documents only)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not SCIFACT.is_dir():
        sys.exit(f"SciFact is not at {SCIFACT}; nothing to measure")
    from qdrant_client import QdrantClient

    from index.qdrant import QdrantStore
    from index.qdrant import open_index as open_qdrant
    from index.qdrant import publish_encoded as publish_qdrant
    from retrieval.bm25 import sparse_documents
    from retrieval.qdrant_search import QdrantSearcher

    qrels = load_qrels(SCIFACT / "qrels" / "train.tsv")
    queries = [q for q in load_queries(SCIFACT / "queries.jsonl") if q.id in qrels]
    if args.max_queries:  # a quick look: these queries and their judgments only
        queries = queries[: args.max_queries]
        qrels = {q.id: qrels[q.id] for q in queries}
    docs = _subset(load_corpus(SCIFACT / "corpus.jsonl"), qrels, args.max_docs)
    encoder = MultiVectorEncoder(backend="torch")
    tokens, pooled = _encoded(docs, encoder)
    info, params = EncoderInfo.of(encoder), BuildParams()

    faiss_root = CACHE / "indexes" / "backends-faiss"
    shutil.rmtree(faiss_root, ignore_errors=True)
    start = time.perf_counter()
    publish_encoded(docs, tokens, pooled, faiss_root, info, params)
    faiss_build = time.perf_counter() - start
    faiss_searcher = Searcher(open_index(faiss_root), encoder)
    store = QdrantStore(QdrantClient(":memory:"), where="local mode")
    start = time.perf_counter()
    manifest = publish_qdrant(docs, tokens, pooled, store.root("scifact"), info, params)
    qdrant_build = time.perf_counter() - start
    qdrant_searcher = QdrantSearcher(open_qdrant(store.root("scifact")), encoder)
    ids = [d.id for d in docs]

    rows = []
    for mode in args.modes.split(","):
        row: dict = {"mode": mode}
        for name, searcher in (("faiss", faiss_searcher), ("qdrant", qdrant_searcher)):
            ranked = searcher.rank_batch([q.text for q in queries], 100, mode=mode, candidates=args.candidates)
            run = {q.id: [ids[i] for i in positions] for q, (_, positions) in zip(queries, ranked)}
            row[f"{name} nDCG@10"] = round(evaluate(run, qrels)["ndcg@10"], 4)
            single = []
            for i, q in enumerate(queries[: _SINGLE + 2]):
                start = time.perf_counter()
                searcher.search(q.text, 10, mode=mode, candidates=args.candidates)
                if i >= 2:
                    single.append(time.perf_counter() - start)
            row[f"{name} p50 ms"] = round(1000 * float(np.median(single)), 1)
        row["|diff|"] = round(abs(row["faiss nDCG@10"] - row["qdrant nDCG@10"]), 4)
        rows.append(row)

    terms = sum(len(t[0]) for t in sparse_documents([d.content for d in docs]))
    qb = qdrant_bytes(manifest, docs, terms)
    faiss_dir = faiss_root / "versions" / faiss_searcher.index.manifest.version
    meta = {"documents": len(docs), "queries": len(queries), "candidates": args.candidates,
            "tokens/doc": round(manifest.tokens / len(docs), 1), "fde_dim": manifest.fde_dim,
            "faiss bytes/doc (disk, measured)": round(_dir_bytes(faiss_dir) / len(docs)),
            "qdrant bytes/doc (server layout: RAM + disk)": f"{qb['ram']:.0f} + {qb['disk']:.0f} = {qb['total']:.0f}",
            "build s (faiss, qdrant local)": f"{faiss_build:.1f}, {qdrant_build:.1f}",
            "latency": "qdrant = local mode (in-process Python), not the server engine"}
    emit(rows, args.json, meta)


if __name__ == "__main__":
    main()
