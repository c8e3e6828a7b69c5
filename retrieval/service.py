"""Long-lived search service: named indexes under one directory, encoders loaded once.

Each call checks the index's ``CURRENT`` pointer (one small file read), so a version published by
a rebuild is served by the next request without a restart.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from index.manifest import IndexManifest
from index.reader import IndexVersion
from index.versions import IndexRoot
from matlas.errors import IndexNotFound, InvalidInput
from retrieval.encoder import MultiVectorEncoder
from retrieval.search import Searcher

if TYPE_CHECKING:
    from matlas.settings import Settings
    from retrieval.crossmodal import CrossModalSearcher

__all__ = ["SearchService", "resolve_index"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def resolve_index(
    index: str | Path, indexes_dir: Path, *, allow_paths: bool = True, must_exist: bool = True
) -> IndexRoot:
    """An index given as a name under ``indexes_dir``, or (``allow_paths``) as a directory path."""
    text = str(index)
    if allow_paths and ("/" in text or Path(text).is_dir()):
        root = IndexRoot(text)
    elif _NAME.match(text):
        root = IndexRoot(indexes_dir / text)
    else:
        raise InvalidInput(f"invalid index name {text!r}: use letters, digits, '-' and '_'")
    if must_exist and not root.exists():
        raise IndexNotFound(f"unknown index {text!r}: no built index at {root.path}")
    return root


class SearchService:
    """Caches one encoder per model and one ``Searcher`` per serving index version."""

    def __init__(
        self,
        indexes_dir: Path,
        *,
        device: str = "auto",
        batch_size: int = 32,
        candidates: int = 300,
        allow_paths: bool = True,
    ) -> None:
        self.indexes_dir = Path(indexes_dir)
        self.allow_paths = allow_paths
        self.device, self.batch_size, self.candidates = device, batch_size, candidates
        self._encoders: dict[str, MultiVectorEncoder] = {}
        self._searchers: dict[Path, tuple[str, Searcher]] = {}
        self._crossmodal: dict[Path, tuple[str, CrossModalSearcher]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, *, allow_paths: bool = False) -> SearchService:
        """The service over ``settings.indexes_dir`` with the settings' device, batch size and candidates."""
        return cls(settings.indexes_dir, device=settings.device, batch_size=settings.encode_batch_size,
                   candidates=settings.search_candidates, allow_paths=allow_paths)

    def encoder(self, model_id: str) -> MultiVectorEncoder:
        """The encoder for ``model_id``, loaded on first use."""
        with self._lock:
            if model_id not in self._encoders:
                self._encoders[model_id] = MultiVectorEncoder(model_id, device=self.device, batch_size=self.batch_size)
            return self._encoders[model_id]

    def searcher(self, index: str | Path) -> Searcher:
        """A searcher over the serving version of ``index`` (a name or a directory)."""
        root = self.resolve(index)
        version = root.current()
        key = root.path.resolve()
        cached = self._searchers.get(key)
        if cached and cached[0] == version:
            return cached[1]
        loaded = IndexVersion.open(root.versions_dir / version)
        searcher = Searcher(loaded, self.encoder(loaded.manifest.encoder.model_id), candidates=self.candidates)
        self._searchers[key] = (version, searcher)
        return searcher

    def crossmodal(self, index: str | Path, default_encoder: str) -> CrossModalSearcher:
        """A cross-modal searcher over the serving version of ``index``, with the encoder its manifest
        names (``default_encoder`` for manifests that name none); cached per version."""
        from retrieval.crossmodal import CrossModalSearcher  # pymatgen: loaded only when asked for

        root = self.resolve(index)
        version = root.current()
        key = root.path.resolve()
        with self._lock:
            cached = self._crossmodal.get(key)
        if cached and cached[0] == version:
            return cached[1]
        searcher = CrossModalSearcher(root.path, None)
        searcher.encoder = self.encoder(searcher.manifest.meta.get("encoder") or default_encoder)
        with self._lock:
            self._crossmodal[key] = (version, searcher)
        return searcher

    def warm_up(self) -> list[str]:
        """Load every built index with its encoder and run one query through each, so that the
        first request does not pay for model loading and kernel compilation; the names warmed."""
        names = []
        for root, _ in self.list_indexes():
            self.searcher(root.path.name).search("warm-up", k=1)
            names.append(root.path.name)
        return names

    def resolve(self, index: str | Path) -> IndexRoot:
        """The index root for a name (or a path, where this service allows paths)."""
        return resolve_index(index, self.indexes_dir, allow_paths=self.allow_paths)

    def list_indexes(self) -> list[tuple[IndexRoot, IndexManifest]]:
        """Every built document index under ``indexes_dir`` with its serving manifest (cross-modal hash
        indexes, which have a manifest of their own, are not listed)."""
        if not self.indexes_dir.is_dir():
            return []
        found = []
        for path in sorted(self.indexes_dir.iterdir()):
            root = IndexRoot(path)
            if not root.exists():
                continue
            try:
                found.append((root, IndexManifest.read(root.current_path())))
            except IndexNotFound:  # a cross-modal (binary) index: its manifest is another kind
                continue
        return found
