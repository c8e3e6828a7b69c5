"""Search over an index version: MUVERA (FDE MIPS + exact MaxSim re-rank), dense, exact, hybrid.

- ``muvera`` (default): FDE inner-product search for ``candidates`` documents, re-scored exactly
  by MaxSim over their stored token vectors.
- ``dense``: single-vector (pooled) inner product.
- ``exact``: brute-force MaxSim over every document (the oracle MUVERA approximates).
- ``hybrid``: reciprocal-rank fusion of muvera, dense and BM25.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, Field

from index.faiss_index import default_search_params, search_index
from index.manifest import EncoderInfo
from index.reader import IndexVersion
from matlas.errors import InvalidInput
from retrieval.encoder import MultiVectorEncoder
from retrieval.fde import FixedDimensionalEncoder
from retrieval.fusion import reciprocal_rank_fusion
from retrieval.maxsim import maxsim_matrix, maxsim_topk

__all__ = ["FUSION_DEPTH", "MAX_K", "SHARED_RERANK_MAX_WORK", "Hit", "SearchMode", "Searcher"]

SearchMode = Literal["muvera", "dense", "exact", "hybrid"]
MODES: tuple[str, ...] = get_args(SearchMode)
MAX_K = 1000
FUSION_DEPTH = 100
# A batch of queries is re-ranked against the union of their candidates in one MaxSim when that scores at most
# this many times the (query, candidate) pairs it needs: on 2 CPU cores one GEMM of 16 queries' tokens against
# 427 documents took 15 CPU-ms per query, 16 separate re-ranks of 300 candidates 39 (bench/search_batching.py).
SHARED_RERANK_MAX_WORK = 3.0


class Hit(BaseModel):
    """One ranked document."""

    id: str = Field(description="Document id (the corpus `_id`).")
    score: float = Field(description="MaxSim, inner product, or RRF score, by mode.")
    rank: int = Field(description="1-based rank.")
    title: str = ""
    text: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class Searcher:
    """Answers queries against one loaded index version with the encoder it was built with."""

    def __init__(
        self, index: IndexVersion, encoder: MultiVectorEncoder | None, *, candidates: int = 300,
        maxsim_backend: str | None = None,
    ) -> None:
        built = index.manifest.encoder
        if encoder is not None:
            built.check(EncoderInfo.of(encoder), index.manifest.name)
        self.index = index
        self.encoder = encoder
        self.candidates = candidates
        self.maxsim_backend = maxsim_backend  # gpu.kernels.maxsim backend of the exact re-rank; None: auto
        self.fde = FixedDimensionalEncoder(built.dim, index.manifest.fde)

    def search(
        self, query: str, k: int = 10, *, mode: SearchMode = "muvera", candidates: int | None = None
    ) -> list[Hit]:
        """Top-``k`` hits for one query."""
        return self.hits(*self.rank_batch([query], k, mode=mode, candidates=candidates)[0])

    def rank_batch(
        self,
        queries: Sequence[str],
        k: int = 10,
        *,
        mode: SearchMode = "muvera",
        candidates: int | None = None,
        progress: bool = False,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(scores, positions)`` per query, best first: the search without document lookup."""
        candidates = self.validate(queries, k, mode, candidates)
        if self.encoder is None:
            raise InvalidInput("this searcher has no text encoder; use rank_multivectors()")
        if mode == "dense":
            pooled = self.encoder.encode(queries, kind="query", output="pooled", show_progress_bar=progress)
            return self._dense(pooled, k)
        tokens, pooled = self.encoder.encode(queries, kind="query", output="both", show_progress_bar=progress)
        if mode == "exact":
            return self._exact(tokens, k)
        if mode == "muvera":
            return self.rank_multivectors(tokens, k, candidates)
        return self._hybrid(queries, tokens, pooled, k, candidates)

    def _hybrid(self, queries: Sequence[str], tokens: list[np.ndarray], pooled: np.ndarray, k: int, candidates: int):
        """RRF of muvera (top ``max(k, 100)``), dense and BM25 (top 100 each)."""
        muvera = self.rank_multivectors(tokens, max(k, FUSION_DEPTH), candidates)
        dense = self._dense(pooled, FUSION_DEPTH) if self.index.manifest.dense else None
        fused = []
        for i, query in enumerate(queries):
            lists = [muvera[i][1]] + ([dense[i][1]] if dense is not None else [])
            if self.index.bm25 is not None:
                lists.append(self.index.bm25.search(query, FUSION_DEPTH)[1])
            scores, ids = reciprocal_rank_fusion(lists)
            fused.append((scores[:k], ids[:k]))
        return fused

    def validate(self, queries: Sequence[str], k: int, mode: str, candidates: int | None) -> int:
        """The candidate count a search of ``queries`` will use; ``InvalidInput`` for a request it cannot answer."""
        if mode not in MODES:
            raise InvalidInput(f"unknown mode {mode!r}; choose one of {list(MODES)}")
        if isinstance(queries, str) or not queries:
            raise InvalidInput("give at least one query")
        if any(not isinstance(q, str) or not q.strip() for q in queries):
            raise InvalidInput("queries must be non-empty text")
        if not 1 <= k <= MAX_K:
            raise InvalidInput(f"k must be between 1 and {MAX_K}, got {k}")
        candidates = candidates or self.candidates
        if not 1 <= candidates <= 100 * MAX_K:
            raise InvalidInput(f"candidates must be between 1 and {100 * MAX_K}, got {candidates}")
        if mode == "dense" and not self.index.manifest.dense:
            raise InvalidInput(f"index {self.index.manifest.name!r} was built without a dense index")
        return max(candidates, k)

    def rank_multivectors(
        self, tokens: Sequence[np.ndarray], k: int, candidates: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """MUVERA for encoded queries: FDE MIPS top-``candidates``, exact MaxSim, top-``k``."""
        manifest = self.index.manifest
        params = manifest.search_params or default_search_params(manifest.factory, candidates)
        _, cand = search_index(self.index.fde_index, self.fde.encode_queries(tokens), candidates, params)
        valid = [ids[ids >= 0] for ids in cand]
        if len(valid) > 1:  # a single query (the common case) needs no union
            union, where = np.unique(np.concatenate(valid), return_inverse=True)
        if len(valid) == 1 or len(union) * len(valid) > SHARED_RERANK_MAX_WORK * sum(map(len, valid)):
            return [maxsim_topk(query, self.index.tokens.get(ids), k, ids=ids, backend=self.maxsim_backend)
                    for query, ids in zip(tokens, valid)]
        # one re-rank of every query against the union of their candidates, each keeping its own candidates
        scores = maxsim_matrix(tokens, self.index.tokens.get(union), backend=self.maxsim_backend)
        out, start = [], 0
        for row, ids in zip(scores, valid):
            mine = row[where[start : start + len(ids)]]
            start += len(ids)
            top = np.argsort(-mine, kind="stable")[:k]
            out.append((mine[top], ids[top]))
        return out

    def _dense(self, pooled: np.ndarray, k: int):
        scores, ids = search_index(self.index.dense_index, pooled, k)
        return [(s[i >= 0], i[i >= 0]) for s, i in zip(scores, ids)]

    def _exact(self, queries: list[np.ndarray], k: int, group: int = 32):
        """Brute-force MaxSim over every document, each store chunk read once per query group."""
        results = []
        for g in range(0, len(queries), group):
            batch = queries[g : g + group]
            best_scores = np.zeros((len(batch), 0), np.float32)
            best_ids = np.zeros((len(batch), 0), np.int64)
            for ids, docs in self.index.tokens.iter_all(batch=256):
                scores = np.concatenate([best_scores, maxsim_matrix(batch, docs, backend=self.maxsim_backend)], axis=1)
                pool = np.concatenate([best_ids, np.broadcast_to(ids, (len(batch), len(ids)))], axis=1)
                top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
                best_scores = np.take_along_axis(scores, top, axis=1)
                best_ids = np.take_along_axis(pool, top, axis=1)
            results += list(zip(best_scores, best_ids))
        return results

    def hits(self, scores: np.ndarray, ids: np.ndarray) -> list[Hit]:
        """Ranked hits, with their documents, for one query's ``(scores, positions)``."""
        docs = self.index.documents.get(ids)
        return [
            Hit(id=d.id, score=float(s), rank=r, title=d.title, text=d.text, metadata=d.metadata)
            for r, (s, d) in enumerate(zip(scores, docs), 1)
        ]
