"""Long-lived searchers over the index root: one per serving index version, per index kind.

``SearchService`` serves ``muvera`` indexes (text -> documents) and ``CrossModalService``
``crossmodal`` hash indexes (text <-> structure). Both take the :class:`IndexCatalog` (which
indexes exist, of which kind) and the :class:`EncoderCache` (one encoder per model) they share;
each index is searched with the encoder its manifest records. Each call checks the index's
``CURRENT`` pointer (one small file read; on Qdrant, the alias), so a version published by a
rebuild is served by the next request without a restart. A searcher queries one version (on
Qdrant, its collection, not the alias), so every answer comes from one whole version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from gpu.faiss_gpu import to_gpu
from index.reader import open_index
from retrieval.batching import MicroBatcher
from retrieval.catalog import IndexCatalog, IndexEntry, IndexKind
from retrieval.crossmodal import CrossModalHit, CrossModalSearcher
from retrieval.encoder_cache import EncoderCache
from retrieval.hashing.features import structure_vector
from retrieval.search import Hit, Searcher, SearchMode
from retrieval.structures import structure_content

__all__ = ["CrossModalService", "SearchService"]

T = TypeVar("T")


class _ServingCache(Generic[T]):
    """One searcher per index of one kind, replaced when the index's serving version changes."""

    kind: IndexKind

    def __init__(self, catalog: IndexCatalog, encoders: EncoderCache) -> None:
        self.catalog, self.encoders = catalog, encoders
        self._searchers: dict[tuple[str, str], tuple[str, T]] = {}
        self._opening: dict[tuple[str, str], threading.Lock] = {}  # one open at a time per index
        self._lock = threading.Lock()

    def _open(self, entry: IndexEntry) -> T:
        raise NotImplementedError

    def searcher(self, index: str | Path) -> T:
        """The searcher over the serving version of ``index`` (which must be of this kind).

        A new version is opened once, whatever the number of requests that see it at the same time:
        the others wait for that one open (opening is memory- and I/O-heavy), and then read the
        pointer again, so a request that saw an older version never puts it back.
        """
        entry = self.catalog.require(index, self.kind)
        key = entry.key
        with self._lock:
            cached = self._searchers.get(key)
            if cached and cached[0] == entry.manifest.version:
                return cached[1]
            opening = self._opening.setdefault(key, threading.Lock())
        with opening:
            entry = self.catalog.require(index, self.kind)  # the newest version, after the wait
            with self._lock:
                cached = self._searchers.get(key)
            if cached and cached[0] == entry.manifest.version:
                return cached[1]
            searcher = self._open(entry)
            with self._lock:
                self._searchers[key] = (entry.manifest.version, searcher)
            return searcher

    def _warm_one(self, searcher: T) -> None:
        raise NotImplementedError

    def warm_up(self) -> list[str]:
        """Open every index of this kind with its encoder and run one query through each, so that
        the first request does not pay for loading; the names warmed."""
        names = []
        for entry in self.catalog.entries(self.kind):
            self._warm_one(self.searcher(entry.name))
            names.append(entry.name)
        return names


class SearchService(_ServingCache[Searcher]):
    """Searchers of ``muvera`` indexes (FDE candidates re-ranked by MaxSim, dense, exact, hybrid)."""

    kind: IndexKind = "muvera"

    def __init__(self, catalog: IndexCatalog | Path, encoders: EncoderCache | None = None, *,
                 candidates: int = 300, maxsim_backend: str | None = None, max_batch: int = 16,
                 batch_workers: int = 2) -> None:
        catalog = catalog if isinstance(catalog, IndexCatalog) else IndexCatalog(catalog)
        super().__init__(catalog, encoders or EncoderCache())
        self.candidates = candidates
        self.maxsim_backend = maxsim_backend  # of the exact re-rank (gpu.kernels.maxsim); None: auto
        # concurrent searches of one searcher with the same k, mode and candidates run as one batch
        self.batcher: MicroBatcher[tuple[Searcher, int, str, int | None], str, list[Hit]] = MicroBatcher(
            _search_batch, max_batch=max_batch, workers=batch_workers, name="search-batcher")

    def search(self, searcher: Searcher, query: str, k: int = 10, *, mode: SearchMode = "muvera",
               candidates: int | None = None) -> list[Hit]:
        """``searcher.search(query, ...)``, batched with the concurrent searches that ask the same of it.

        The request is checked first, so a bad one fails alone; the hits are those of ``searcher.search``.
        """
        searcher.validate([query], k, mode, candidates)
        return self.batcher.submit((searcher, k, mode, candidates), query)

    def _open(self, entry: IndexEntry) -> Searcher:
        if entry.backend == "qdrant":
            from index.qdrant import open_index as open_qdrant
            from retrieval.qdrant_search import QdrantSearcher

            version = open_qdrant(entry.root, entry.manifest.version)
            encoder = self.encoders.get(version.manifest.encoder.model_id, version.manifest.encoder.backend)
            return QdrantSearcher(version, encoder, candidates=self.candidates)
        loaded = open_index(entry.root, entry.manifest.version, place=to_gpu)  # GPU placement is the service's call
        encoder = self.encoders.get(loaded.manifest.encoder.model_id, loaded.manifest.encoder.backend)
        return Searcher(loaded, encoder, candidates=self.candidates, maxsim_backend=self.maxsim_backend)

    def _warm_one(self, searcher: Searcher) -> None:
        searcher.search("warm-up", k=1)


def _search_batch(key: tuple[Searcher, int, str, int | None], queries: list[str]) -> list[list[Hit]]:
    searcher, k, mode, candidates = key
    return [searcher.hits(*ranked) for ranked in searcher.rank_batch(queries, k, mode=mode, candidates=candidates)]


class CrossModalService(_ServingCache[CrossModalSearcher]):
    """Searchers of ``crossmodal`` hash indexes; structures are read and analysed by ``featurise``.

    ``featurise(content)`` maps structure content (text or a pymatgen dict) to a feature row; the
    API passes one that runs in child processes (``retrieval.isolation.IsolatedCalls``), so that a
    crash in native code costs one request, not the server. ``snapshot`` resolves mp-ids.
    """

    kind: IndexKind = "crossmodal"

    def __init__(self, catalog: IndexCatalog, encoders: EncoderCache, *, snapshot: Path | None = None,
                 default_encoder: str | None = None,
                 featurise: Callable[[Any], np.ndarray] = structure_vector) -> None:
        super().__init__(catalog, encoders)
        self.snapshot, self.default_encoder, self.featurise = snapshot, default_encoder, featurise

    def _open(self, entry: IndexEntry) -> CrossModalSearcher:
        return CrossModalSearcher(entry.root.path, self.encoders.get, default_encoder=self.default_encoder)

    def search(self, index: str, *, text: str | None = None, structure: str | dict[str, Any] | None = None,
               k: int = 10) -> tuple[CrossModalSearcher, list[CrossModalHit]]:
        """The searcher of ``index`` and its hits for a ``text`` or structure content (an mp-id too)."""
        searcher = self.searcher(index)
        if structure is None:
            return searcher, searcher.search(text=text, k=k)
        x = self.featurise(structure_content(structure, self.snapshot))
        return searcher, searcher.search_features(x, "structure", k)

    def _warm_one(self, searcher: CrossModalSearcher) -> None:
        if searcher.encoder_model is not None:
            searcher.search(text="warm-up", k=1)
