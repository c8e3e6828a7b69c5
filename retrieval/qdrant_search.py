"""``Searcher`` over a Qdrant index version: the same queries, encoder and FDE as over FAISS, with
candidate generation, MaxSim re-ranking and RRF fusion done by Qdrant (``index.qdrant.search``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.qdrant.search import QdrantVersion
from retrieval.bm25 import query_terms
from retrieval.encoder import MultiVectorEncoder
from retrieval.search import FUSION_DEPTH, Searcher

__all__ = ["QdrantSearcher"]


class QdrantSearcher(Searcher):
    """Answers queries against one Qdrant index version; hits and documents as ``Searcher``'s."""

    index: QdrantVersion

    def __init__(self, index: QdrantVersion, encoder: MultiVectorEncoder | None, *, candidates: int = 300) -> None:
        super().__init__(index, encoder, candidates=candidates)  # type: ignore[arg-type]

    def rank_multivectors(self, tokens: Sequence[np.ndarray], k: int, candidates: int):
        return self.index.muvera(self.fde.encode_queries(tokens), tokens, k, candidates)

    def _dense(self, pooled: np.ndarray, k: int):
        return self.index.dense(pooled, k)

    def _exact(self, queries: list[np.ndarray], k: int, group: int = 32):
        return self.index.exact(queries, k)

    def _hybrid(self, queries: Sequence[str], tokens: list[np.ndarray], pooled: np.ndarray, k: int, candidates: int):
        return self.index.hybrid(self.fde.encode_queries(tokens), tokens, pooled, [query_terms(q) for q in queries],
                                 k, candidates, FUSION_DEPTH)
