"""Searching one Qdrant index version, server side: the Query API does what ``retrieval.search``
does with FAISS and numpy.

- ``muvera``: prefetch ``candidates`` on ``fde`` (int8, rescored), then MaxSim on ``tok``.
- ``dense``: the pooled vector.
- ``exact``: MaxSim on ``tok`` over every point (a full scan; refused above ``exact_max_documents``).
- ``hybrid``: RRF (k=60) over muvera, dense and BM25 prefetches, in that order, like
  ``retrieval.fusion.reciprocal_rank_fusion``; ties are broken by position as there.

Every query names the version's collection, not the alias, so an answer comes from one whole version.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from qdrant_client import models

from index.qdrant.manifest import QdrantManifest
from index.qdrant.store import QdrantStore
from index.qdrant.versions import QdrantRoot
from matlas.errors import InvalidInput
from retrieval.bm25 import SparseTerms
from retrieval.corpus import Document

__all__ = ["RRF_K", "QdrantDocuments", "QdrantVersion", "open_index"]

RRF_K = 60  # retrieval.fusion's k: score 1 / (60 + rank), ranks from 1
_QDRANT_RRF_K = RRF_K + 1  # Qdrant scores 1 / (k + position), positions from 0
Ranked = list[tuple[np.ndarray, np.ndarray]]  # per query: (scores, positions), best first


class QdrantDocuments:
    """Documents of one collection by position (the point id), read from the payloads."""

    def __init__(self, store: QdrantStore, collection: str, count: int) -> None:
        self.store, self.collection, self._count = store, collection, count

    def __len__(self) -> int:
        return self._count

    def get(self, ids: Sequence[int]) -> list[Document]:
        """Documents at positions ``ids``."""
        ids = [int(i) for i in ids]
        if ids and (min(ids) < 0 or max(ids) >= self._count):
            raise IndexError(f"document ids out of range [0, {self._count})")
        with self.store.reachable():
            points = self.store.client.retrieve(self.collection, ids, with_payload=True, with_vectors=False)
        by_id = {p.id: p.payload for p in points}
        return [Document.model_validate(by_id[i]) for i in ids]

    def __iter__(self) -> Iterator[Document]:
        for start in range(0, self._count, 1024):
            yield from self.get(range(start, min(start + 1024, self._count)))


@dataclass
class QdrantVersion:
    """One published version on Qdrant: its manifest, collection and documents (the ``IndexVersion`` of Qdrant)."""

    store: QdrantStore
    manifest: QdrantManifest
    documents: QdrantDocuments

    @property
    def collection(self) -> str:
        return self.manifest.collection

    def points(self) -> int:
        """Points stored in the collection (exact count)."""
        with self.store.reachable():
            return self.store.client.count(self.collection, exact=True).count

    def _fde_prefetch(self, fde: np.ndarray, candidates: int) -> models.Prefetch:
        p = self.store.params
        quantization = (models.QuantizationSearchParams(rescore=p.rescore, oversampling=p.oversampling)
                        if p.fde_quantization != "none" else None)
        params = models.SearchParams(hnsw_ef=max(candidates + candidates // 2, 64), quantization=quantization)
        return models.Prefetch(query=fde.tolist(), using="fde", limit=candidates, params=params)

    def _run(self, requests: list[models.QueryRequest]) -> list[list[models.ScoredPoint]]:
        with self.store.reachable():
            return [r.points for r in self.store.client.query_batch_points(self.collection, requests)]

    @staticmethod
    def _ranked(points: list[models.ScoredPoint], k: int | None = None, *, ties_by_id: bool = False) -> tuple:
        if ties_by_id:
            points = sorted(points, key=lambda p: (-p.score, p.id))
        points = points[:k] if k is not None else points
        return (np.array([p.score for p in points], dtype=np.float32),
                np.array([p.id for p in points], dtype=np.int64))

    def muvera(self, fdes: np.ndarray, tokens: Sequence[np.ndarray], k: int, candidates: int) -> Ranked:
        """FDE candidates re-ranked by exact MaxSim, both on the server."""
        requests = [models.QueryRequest(prefetch=self._fde_prefetch(f, candidates), query=t.tolist(), using="tok", limit=k)
                    for f, t in zip(fdes, tokens)]
        return [self._ranked(points) for points in self._run(requests)]

    def dense(self, pooled: np.ndarray, k: int) -> Ranked:
        """Pooled-vector inner product."""
        if not self.manifest.dense:
            raise InvalidInput(f"index {self.manifest.name!r} was built without a dense index")
        return [self._ranked(points) for points in self._run(
            [models.QueryRequest(query=v.tolist(), using="dense", limit=k) for v in pooled])]

    def exact(self, tokens: Sequence[np.ndarray], k: int) -> Ranked:
        """MaxSim over every document (a full scan on the server), for indexes up to ``exact_max_documents``."""
        cap = self.store.params.exact_max_documents
        if self.manifest.documents > cap:
            raise InvalidInput(f"exact search scans every document; index {self.manifest.name!r} has "
                               f"{self.manifest.documents}, more than the {cap} allowed: use mode 'muvera'")
        requests = [models.QueryRequest(query=t.tolist(), using="tok", limit=k, params=models.SearchParams(exact=True))
                    for t in tokens]
        return [self._ranked(points) for points in self._run(requests)]

    def hybrid(self, fdes: np.ndarray, tokens: Sequence[np.ndarray], pooled: np.ndarray, terms: Sequence[SparseTerms],
               k: int, candidates: int, depth: int) -> Ranked:
        """Server-side RRF of muvera (top ``max(k, depth)``), dense and BM25 (top ``depth`` each)."""
        requests = []
        for fde, tok, vec, (ids, weights) in zip(fdes, tokens, pooled, terms):
            prefetch = [models.Prefetch(prefetch=self._fde_prefetch(fde, candidates), query=tok.tolist(), using="tok",
                                        limit=max(k, depth))]
            if self.manifest.dense:
                prefetch.append(models.Prefetch(query=vec.tolist(), using="dense", limit=depth))
            if self.manifest.bm25 and ids:
                prefetch.append(models.Prefetch(query=models.SparseVector(indices=ids, values=weights), using="bm25",
                                                limit=depth))
            requests.append(models.QueryRequest(prefetch=prefetch, query=models.RrfQuery(rrf=models.Rrf(k=_QDRANT_RRF_K)),
                                                limit=max(k, depth) + 2 * depth))  # every fused point: ties cut by id
        return [self._ranked(points, k, ties_by_id=True) for points in self._run(requests)]


def open_index(root: QdrantRoot, version: str | None = None) -> QdrantVersion:
    """The serving version of ``root`` (or the named ``version``), ready to search."""
    manifest = root.manifest(version)
    return QdrantVersion(root.store, manifest, QdrantDocuments(root.store, manifest.collection, manifest.documents))
