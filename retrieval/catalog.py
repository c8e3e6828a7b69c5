"""The index catalogue: which indexes exist under the index root, of which kind, at which version.

Indexes live under the index root (FAISS) or on Qdrant (``index.backends``), muvera ones on either.
Two kinds are built by the platform: ``muvera`` (float FDE index with token store, dense and BM25
parts, searched by text) and ``crossmodal`` (binary hash codes of texts and structures). The kind
is read from the serving version's manifest; asking for one kind by the name of another is an
``InvalidInput`` that says so. Errors name indexes, never server paths.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from index.backends import Backend, IndexBackends, is_qdrant
from index.binary import BinaryIndexManifest
from index.manifest import IndexManifest
from index.versions import INDEX_NAME, IndexRoot
from matlas.errors import IndexNotFound, InvalidInput, Unavailable

if TYPE_CHECKING:
    from index.qdrant import QdrantRoot, QdrantStore

__all__ = ["INDEX_KINDS", "INDEX_NAME", "IndexCatalog", "IndexEntry", "IndexKind"]


IndexKind = Literal["muvera", "crossmodal"]
INDEX_KINDS: tuple[IndexKind, ...] = ("muvera", "crossmodal")
_MANIFESTS: dict[IndexKind, type[IndexManifest] | type[BinaryIndexManifest]] = {
    "muvera": IndexManifest, "crossmodal": BinaryIndexManifest}


@dataclass(frozen=True)
class IndexEntry:
    """One built index: its root, kind and serving manifest."""

    root: IndexRoot | QdrantRoot
    kind: IndexKind
    manifest: IndexManifest | BinaryIndexManifest

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def backend(self) -> Backend:
        return "qdrant" if is_qdrant(self.root) else "faiss"

    @property
    def location(self) -> str:
        """Where it lives: its directory, or ``qdrant:ALIAS``."""
        return self.root.location

    @property
    def key(self) -> tuple[str, str]:
        """Identifies the index across names and paths (for caches)."""
        return (self.backend, self.location if is_qdrant(self.root) else str(self.root.path.resolve()))


def _kind_of(data: dict) -> IndexKind:
    return "crossmodal" if "bits" in data and "parts" in data else "muvera"


class IndexCatalog:
    """Indexes under ``indexes_dir`` by name (and by directory path where ``allow_paths``, the CLI), and
    on ``qdrant`` when one is given (a name under the index root wins)."""

    def __init__(self, indexes_dir: Path, *, allow_paths: bool = False, qdrant: QdrantStore | None = None) -> None:
        self.indexes_dir = Path(indexes_dir)
        self.allow_paths = allow_paths
        self.backends = IndexBackends(self.indexes_dir, qdrant)

    def resolve(self, index: str | Path) -> IndexRoot | QdrantRoot:
        """The root of a built index; ``IndexNotFound`` / ``InvalidInput`` (``Unavailable``: Qdrant is down) otherwise."""
        return self.backends.locate(index, allow_paths=self.allow_paths)

    def entry(self, index: str | Path) -> IndexEntry:
        """The index with its kind and serving manifest."""
        root = self.resolve(index)
        if is_qdrant(root):
            return IndexEntry(root, "muvera", root.manifest())
        try:
            directory = root.current_path()
            kind = _kind_of(json.loads((directory / "manifest.json").read_text()))
            return IndexEntry(root, kind, _MANIFESTS[kind].read(directory))
        except (OSError, ValueError, IndexNotFound):
            raise IndexNotFound(f"index {root.name!r} has no readable manifest in its serving version") from None

    def require(self, index: str | Path, kind: IndexKind) -> IndexEntry:
        """The index, which must be of ``kind``."""
        entry = self.entry(index)
        if entry.kind != kind:
            raise InvalidInput(f"index {entry.name!r} is a {entry.kind} index, not a {kind} index; "
                               f"search it as a {entry.kind} index")
        return entry

    def entries(self, kind: IndexKind | None = None) -> list[IndexEntry]:
        """Every built index under ``indexes_dir`` and on Qdrant (of ``kind``, if given), by backend and name."""
        found = []
        for root in self.backends.roots():
            try:
                if is_qdrant(root):
                    entry = IndexEntry(root, "muvera", root.manifest())
                else:
                    entry = self.entry(root.path if self.allow_paths else root.name)
            except (IndexNotFound, InvalidInput, Unavailable):
                continue  # a half-written or foreign folder is not an index
            if kind is None or entry.kind == kind:
                found.append(entry)
        return found
