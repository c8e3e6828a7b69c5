"""Shared bench helpers: seeded synthetic multi-vectors, cached SciFact MiniLM token vectors, exact
Chamfer scores, the FDE implementations under comparison, timing and table/JSON output.

Encode the SciFact cache once (about 5 minutes on 2 cores) with::

    .venv/bin/python -m bench._data            # all 5,183 docs and 809 queries
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench"
_SHARED = next((p / "shared" for p in (ROOT.parent, ROOT.parents[1]) if (p / "shared").is_dir()), ROOT.parent / "shared")
SCIFACT = _SHARED / "data" / "beir" / "scifact"  # ../shared beside the project (or beside a worktree's folder)


class DataUnavailable(RuntimeError):
    """A data set the bench needs is not on this machine."""


def _normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def synthetic(n_docs=5000, doc_tokens=64, dim=128, n_queries=200, query_tokens=32, *,
              n_centres=1000, centres_per_doc=4, doc_noise=0.5, query_noise=0.3, seed=0):
    """Clustered unit-norm multi-vectors: ``(docs, queries)``, lists of ``(n, dim)`` float32.

    Cluster centres are random unit vectors; each document draws its tokens around a few centres
    (noise of norm ~``doc_noise``); each query takes ``query_tokens`` noisy tokens of a random
    document, so true near neighbours exist.
    """
    rng = np.random.default_rng(seed)
    centres = _normalise(rng.standard_normal((n_centres, dim)))
    own = rng.integers(0, n_centres, size=(n_docs, centres_per_doc))
    pick = own[np.arange(n_docs)[:, None], rng.integers(0, centres_per_doc, (n_docs, doc_tokens))]
    noise = rng.standard_normal((n_docs, doc_tokens, dim)) * (doc_noise / np.sqrt(dim))
    docs = _normalise(centres[pick] + noise)
    src = rng.integers(0, n_docs, size=n_queries)
    tok = rng.integers(0, doc_tokens, size=(n_queries, query_tokens))
    noise = rng.standard_normal((n_queries, query_tokens, dim)) * (query_noise / np.sqrt(dim))
    queries = _normalise(docs[src[:, None], tok] + noise)
    return list(docs), list(queries)


def gaussian(n_docs=1000, doc_tokens=200, dim=384, seed=0) -> list[np.ndarray]:
    """Unclustered documents: i.i.d. uniformly random unit tokens (few empty FDE partitions)."""
    rng = np.random.default_rng(seed)
    return list(_normalise(rng.standard_normal((n_docs, doc_tokens, dim))))


def _encode_cached(name: str, texts: list[str], kind: str) -> list[np.ndarray]:
    """MiniLM token vectors of ``texts``, cached as float16 in ``.cache/bench/<name>.npz``."""
    path = CACHE / f"{name}.npz"
    if path.exists():
        z = np.load(path)
        if len(z["lengths"]) >= len(texts):
            lengths = z["lengths"][: len(texts)]
            return np.split(z["tokens"][: lengths.sum()], np.cumsum(lengths)[:-1])
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from retrieval.encoder import MultiVectorEncoder

    mvs = MultiVectorEncoder().encode(texts, kind=kind, show_progress_bar=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, tokens=np.concatenate(mvs).astype(np.float16),
             lengths=np.array([len(m) for m in mvs]))
    tmp.replace(path)
    return [m.astype(np.float16) for m in mvs]


def scifact(max_docs: int | None = None):
    """SciFact ``(docs, queries)`` as MiniLM token vectors (float16): corpus in file order
    (title + text), the 809 train queries. Raises DataUnavailable without ../shared."""
    if not (SCIFACT / "corpus.jsonl").exists():
        raise DataUnavailable(f"SciFact not found at {SCIFACT} (the ../shared checkout is absent)")
    with open(SCIFACT / "corpus.jsonl") as f:
        corpus = [json.loads(line) for line in f]
    with open(SCIFACT / "queries.jsonl") as f:
        queries = [json.loads(line)["text"] for line in f]
    corpus = corpus[:max_docs] if max_docs else corpus
    texts = [(d.get("title", "") + " " + d["text"]).strip() for d in corpus]
    return _encode_cached("scifact_docs", texts, "document"), _encode_cached(
        "scifact_queries", queries, "query")


def chamfer_matrix(queries, docs, max_block=1 << 26) -> np.ndarray:
    """Exact Chamfer/MaxSim scores ``(n_queries, n_docs)``: blocked GEMMs of all query tokens
    against doc-token blocks, max per doc segment, sum per query segment (``maxsim_scores`` for
    every pair, batched)."""
    q = np.concatenate(queries).astype(np.float32)
    q_starts = np.concatenate([[0], np.cumsum([len(x) for x in queries])[:-1]])
    lengths = np.array([len(d) for d in docs])
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    out = np.empty((len(queries), len(docs)), dtype=np.float32)
    per_block = max(1, max_block // len(q) // max(1, int(lengths.mean())))
    for a in range(0, len(docs), per_block):
        b = min(a + per_block, len(docs))
        toks = np.concatenate(docs[a:b]).astype(np.float32)
        sims = q @ toks.T
        per_doc = np.maximum.reduceat(sims, bounds[a:b] - bounds[a], axis=1)
        out[:, a:b] = np.add.reduceat(per_doc, q_starts, axis=0)
    return out


def topk(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores per row, best first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


# --- the FDE implementations: name -> factory(dim, R, k_sim, d_proj) -> (enc_docs, enc_queries)

def _matlas(dim, r, k, dp):
    from retrieval.fde import FDEParams, FixedDimensionalEncoder

    enc = FixedDimensionalEncoder(dim, FDEParams(
        num_repetitions=r, num_simhash_projections=k, projection_dimension=dp))
    return enc.encode_documents, enc.encode_queries


def _fastembed(dim, r, k, dp):
    from fastembed.postprocess.muvera import Muvera

    m = Muvera(dim=dim, k_sim=k, dim_proj=dp, r_reps=r, random_seed=42)  # one doc per call
    return (lambda xs: np.stack([m.process_document(x) for x in xs]).astype(np.float32),
            lambda xs: np.stack([m.process_query(x) for x in xs]).astype(np.float32))


def _muvera_python(dim, r, k, dp):
    from muvera import Muvera

    m = Muvera(num_repetitions=r, num_simhash_projections=k, dimension=dim,
               projection_type="ams_sketch", projection_dimension=dp, seed=42)
    return m.encode_documents, m.encode_queries  # batched (list input)


IMPLEMENTATIONS = {"matlas": _matlas, "fastembed": _fastembed, "muvera-python": _muvera_python}


def make_encoder(name, dim, r, k, dp):
    """``(enc_docs, enc_queries)`` or raises with the reason the implementation cannot run."""
    return IMPLEMENTATIONS[name](dim, r, k, dp)


def as_f32(mvs):
    return [np.ascontiguousarray(m, dtype=np.float32) for m in mvs]


def time_round_robin(fns: dict[str, Callable[[], object]], warmup: int = 0, repeat: int = 3) -> dict[str, list[float]]:
    """Seconds of each of ``repeat`` rounds per implementation, timed in an order that rotates
    each round, so that load on a shared machine hits all alike; ``warmup`` rounds are dropped.
    Round ``i`` of every list comes from the same round, so same-round ratios can be taken."""
    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(warmup + repeat):
        for name in names[r % len(names):] + names[: r % len(names)]:
            t0 = time.perf_counter()
            fns[name]()
            if r >= warmup:
                times[name].append(time.perf_counter() - t0)
    return times


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def emit(rows: list[dict], as_json: bool, meta: dict | None = None) -> None:
    """Print rows as an aligned table, or as one JSON object with ``--json``."""
    if as_json:
        print(json.dumps({**(meta or {}), "rows": rows}, indent=1))
        return
    if meta:
        print("  ".join(f"{k}={v}" for k, v in meta.items()))
    cols = list(dict.fromkeys(c for r in rows for c in r))
    fmt = [[_fmt(r.get(c, "")) for c in cols]
           for r in rows]
    widths = [max(len(c), *(len(f[i]) for f in fmt)) for i, c in enumerate(cols)]
    print("  ".join(c.rjust(w) for c, w in zip(cols, widths)))
    for f in fmt:
        print("  ".join(v.rjust(w) for v, w in zip(f, widths)))


if __name__ == "__main__":
    d, q = scifact()
    print(f"scifact cached: {len(d)} docs ({sum(map(len, d))} tokens), {len(q)} queries")
