"""Where an index lives: FAISS directories under the index root, or collections on Qdrant.

``IndexBackends`` finds an index by name on either backend (the disk first, so FAISS indexes keep
serving while Qdrant is down), picks where a new index is built (``default``), lists both, and
dispatches builds, appends and opening. Callers hold an ``IndexRoot`` or a ``QdrantRoot``; both
have ``name``, ``exists``, ``current``, ``versions``, ``publish`` and ``location``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from index.manifest import IndexManifest
from index.versions import IndexRoot, resolve_index
from matlas.errors import IndexNotFound, InvalidInput, Unavailable

if TYPE_CHECKING:
    from index.build import BuildParams
    from index.qdrant import QdrantRoot, QdrantStore
    from retrieval.corpus import Document
    from retrieval.encoder import MultiVectorEncoder

__all__ = ["Backend", "IndexBackends", "append_documents", "build_index", "is_qdrant", "serving_manifest"]

log = logging.getLogger(__name__)

Backend = Literal["faiss", "qdrant"]


def is_qdrant(root: object) -> bool:
    """Whether ``root`` is a ``QdrantRoot`` (without importing the Qdrant client)."""
    return getattr(root, "backend", "faiss") == "qdrant"


class IndexBackends:
    """The FAISS index root ``indexes_dir`` and, if configured, one Qdrant deployment."""

    def __init__(self, indexes_dir: Path, qdrant: QdrantStore | None = None, *, default: Backend = "faiss") -> None:
        if default == "qdrant" and qdrant is None:
            raise InvalidInput("vector backend 'qdrant' needs a Qdrant: set MATLAS_QDRANT_URL or MATLAS_QDRANT_PATH")
        self.indexes_dir, self.qdrant, self.default = Path(indexes_dir), qdrant, default

    def locate(self, index: str | Path, *, allow_paths: bool = False, must_exist: bool = True) -> IndexRoot | QdrantRoot:
        """The index ``index`` names: a directory path (``allow_paths``), a name under the index root, or
        a name on Qdrant. Not found and not ``must_exist``: where a new index of that name goes (``default``)."""
        disk = resolve_index(index, self.indexes_dir, allow_paths=allow_paths, must_exist=False)
        given_as_path = disk.path != self.indexes_dir / str(index)
        if disk.exists() or self.qdrant is None or given_as_path:
            if must_exist and not disk.exists():
                resolve_index(index, self.indexes_dir, allow_paths=allow_paths)  # raises IndexNotFound
            return disk
        remote = self.qdrant.root(disk.name)
        try:
            found = remote.exists()
        except Unavailable as err:
            raise Unavailable(f"index {disk.name!r} is not under the index root and {err}") from None
        if found or not must_exist:
            return remote if found or self.default == "qdrant" else disk
        raise IndexNotFound(f"unknown index {str(index)[:80]!r}: no index of that name has been built "
                            f"(neither under the index root nor on Qdrant)")

    def roots(self) -> list[IndexRoot | QdrantRoot]:
        """Every published index on both backends (Qdrant's skipped, with a warning, while it is down)."""
        found: list[IndexRoot | QdrantRoot] = []
        if self.indexes_dir.is_dir():
            found += [IndexRoot(p) for p in sorted(self.indexes_dir.iterdir()) if IndexRoot(p).exists()]
        if self.qdrant is not None:
            try:
                found += [self.qdrant.root(name) for name in self.qdrant.names()]
            except Unavailable as err:
                log.warning("listing indexes without Qdrant's: %s", err)
        return found


def serving_manifest(root: IndexRoot | QdrantRoot) -> IndexManifest:
    """The manifest of the serving version of a muvera index on either backend."""
    if is_qdrant(root):
        return root.manifest()
    return IndexManifest.read(root.current_path())


def build_index(docs: Sequence[Document], root: IndexRoot | QdrantRoot, encoder: MultiVectorEncoder,
                params: BuildParams | None = None, *, progress: bool = True) -> IndexManifest:
    """Encode ``docs`` and publish them as a new version of ``root``, on its backend."""
    if is_qdrant(root):
        from index.qdrant import build_index as build_qdrant

        return build_qdrant(docs, root, encoder, params, progress=progress)
    from index.build import build_index as build_faiss

    return build_faiss(docs, root.path, encoder, params, progress=progress)


def append_documents(docs: Sequence[Document], root: IndexRoot | QdrantRoot, encoder: MultiVectorEncoder, *,
                     progress: bool = True) -> IndexManifest:
    """Add ``docs`` to the serving version of ``root`` as a new version, on its backend."""
    if is_qdrant(root):
        from index.qdrant import append_documents as append_qdrant

        return append_qdrant(docs, root, encoder, progress=progress)
    from index.build import append_documents as append_faiss

    return append_faiss(docs, root.path, encoder, progress=progress)
