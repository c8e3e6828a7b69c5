"""The index catalogue: which indexes exist under the index root, of which kind, at which version.

Two kinds are built by the platform: ``muvera`` (float FDE index with token store, dense and BM25
parts, searched by text) and ``crossmodal`` (binary hash codes of texts and structures). The kind
is read from the serving version's manifest; asking for one kind by the name of another is an
``InvalidInput`` that says so. Errors name indexes, never server paths.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from index.binary import BinaryIndexManifest
from index.manifest import IndexManifest
from index.versions import INDEX_NAME, IndexRoot, resolve_index
from matlas.errors import IndexNotFound, InvalidInput

__all__ = ["INDEX_KINDS", "INDEX_NAME", "IndexCatalog", "IndexEntry", "IndexKind"]


IndexKind = Literal["muvera", "crossmodal"]
INDEX_KINDS: tuple[IndexKind, ...] = ("muvera", "crossmodal")
_MANIFESTS: dict[IndexKind, type[IndexManifest] | type[BinaryIndexManifest]] = {
    "muvera": IndexManifest, "crossmodal": BinaryIndexManifest}


@dataclass(frozen=True)
class IndexEntry:
    """One built index: its root, kind and serving manifest."""

    root: IndexRoot
    kind: IndexKind
    manifest: IndexManifest | BinaryIndexManifest

    @property
    def name(self) -> str:
        return self.root.name


def _kind_of(data: dict) -> IndexKind:
    return "crossmodal" if "bits" in data and "parts" in data else "muvera"


class IndexCatalog:
    """Indexes under ``indexes_dir`` by name (and by directory path where ``allow_paths``, the CLI)."""

    def __init__(self, indexes_dir: Path, *, allow_paths: bool = False) -> None:
        self.indexes_dir = Path(indexes_dir)
        self.allow_paths = allow_paths

    def resolve(self, index: str | Path) -> IndexRoot:
        """The root of a built index; ``IndexNotFound`` / ``InvalidInput`` otherwise."""
        return resolve_index(index, self.indexes_dir, allow_paths=self.allow_paths)

    def entry(self, index: str | Path) -> IndexEntry:
        """The index with its kind and serving manifest."""
        root = self.resolve(index)
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
        """Every built index under ``indexes_dir`` (of ``kind``, if given), by name."""
        if not self.indexes_dir.is_dir():
            return []
        found = []
        for path in sorted(self.indexes_dir.iterdir()):
            if IndexRoot(path).exists():
                try:
                    entry = self.entry(path if self.allow_paths else path.name)
                except (IndexNotFound, InvalidInput):
                    continue  # a half-written or foreign folder is not an index
                if kind is None or entry.kind == kind:
                    found.append(entry)
        return found
