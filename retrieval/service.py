"""Long-lived searchers over the index root: one per serving index version, per index kind.

``SearchService`` serves ``muvera`` indexes (text -> documents) and ``CrossModalService``
``crossmodal`` hash indexes (text <-> structure). Both take the :class:`IndexCatalog` (which
indexes exist, of which kind) and the :class:`EncoderCache` (one encoder per model) they share;
each index is searched with the encoder its manifest records. Each call checks the index's
``CURRENT`` pointer (one small file read; the manifests only when it moved), so a version
published by a rebuild is served by the next request without a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from gpu.faiss_gpu import to_gpu
from index.reader import open_index
from matlas.errors import IndexNotFound
from retrieval.catalog import IndexCatalog, IndexEntry, IndexKind
from retrieval.crossmodal import CrossModalHit, CrossModalSearcher
from retrieval.encoder_cache import EncoderCache
from retrieval.hashing.features import structure_vector
from retrieval.search import Searcher
from retrieval.structures import structure_content

if TYPE_CHECKING:
    from matlas.settings import Settings

__all__ = ["CrossModalService", "SearchService"]

T = TypeVar("T")


class _ServingCache(Generic[T]):
    """One searcher per index of one kind, replaced when the index's serving version changes."""

    kind: IndexKind

    def __init__(self, catalog: IndexCatalog, encoders: EncoderCache) -> None:
        self.catalog, self.encoders = catalog, encoders
        self._searchers: dict[Path, tuple[str, T]] = {}
        self._lock = threading.Lock()

    def _open(self, entry: IndexEntry) -> T:
        raise NotImplementedError

    def searcher(self, index: str | Path) -> T:
        """The searcher over the serving version of ``index`` (which must be of this kind).

        A request reads the ``CURRENT`` pointer only; the manifests are read when it names a
        version this cache has not opened."""
        root = self.catalog.resolve(index)
        key = root.path.resolve()
        try:
            current = root.current()
        except IndexNotFound:
            current = None  # require() below raises the catalogue's error
        with self._lock:
            cached = self._searchers.get(key)
            if cached and cached[0] == current:
                return cached[1]
        entry = self.catalog.require(index, self.kind)
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
                 candidates: int = 300, maxsim_backend: str | None = None) -> None:
        catalog = catalog if isinstance(catalog, IndexCatalog) else IndexCatalog(catalog)
        super().__init__(catalog, encoders or EncoderCache())
        self.candidates = candidates
        self.maxsim_backend = maxsim_backend  # of the exact re-rank (gpu.kernels.maxsim); None: auto

    @classmethod
    def from_settings(cls, settings: Settings, *, allow_paths: bool = False) -> SearchService:
        """The service over ``settings.indexes_dir`` with the settings' device, batch size and candidates."""
        return cls(IndexCatalog(settings.indexes_dir, allow_paths=allow_paths),
                   EncoderCache(settings.encoder_options()),
                   candidates=settings.search_candidates, maxsim_backend=settings.maxsim_backend)

    def _open(self, entry: IndexEntry) -> Searcher:
        loaded = open_index(entry.root, entry.manifest.version, place=to_gpu)  # GPU placement is the service's call
        encoder = self.encoders.get(loaded.manifest.encoder.model_id, loaded.manifest.encoder.backend)
        return Searcher(loaded, encoder, candidates=self.candidates, maxsim_backend=self.maxsim_backend)

    def _warm_one(self, searcher: Searcher) -> None:
        searcher.search("warm-up", k=1)


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
