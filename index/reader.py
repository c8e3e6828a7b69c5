"""Open one published index version for searching: ``open_index`` is the one way in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import faiss

from index.faiss_index import read_index
from index.manifest import IndexManifest
from index.stores import DocumentStore, TokenStore
from index.versions import IndexRoot
from retrieval.bm25 import BM25Index

__all__ = ["IndexVersion", "Placement", "open_index"]

Placement = Callable[[faiss.Index], faiss.Index]  # where a loaded FAISS index serves from (e.g. gpu.faiss_gpu.to_gpu)


@dataclass
class IndexVersion:
    """A loaded, read-only index version: FAISS FDE index, stores, dense and BM25 indexes."""

    path: Path
    manifest: IndexManifest
    fde_index: faiss.Index
    tokens: TokenStore
    documents: DocumentStore
    dense_index: faiss.Index | None
    bm25: BM25Index | None


def open_index(root: Path | str | IndexRoot, version: str | None = None, *, place: Placement | None = None) -> IndexVersion:
    """Open the serving version of the index at ``root`` (or the named ``version``).

    ``place`` moves each FAISS index where it should serve from (the caller decides: the search
    service puts them on a GPU when there is one); by default they stay on the CPU.
    """
    index_root = root if isinstance(root, IndexRoot) else IndexRoot(root)
    path = index_root.versions_dir / (version or index_root.current())
    manifest = IndexManifest.read(path)
    place = place or (lambda index: index)
    return IndexVersion(
        path=path,
        manifest=manifest,
        fde_index=place(read_index(path / "fde.faiss")),
        tokens=TokenStore(path, manifest.shards),
        documents=DocumentStore(path, manifest.shards),
        dense_index=place(read_index(path / "dense.faiss")) if manifest.dense else None,
        bm25=BM25Index.load(path / "bm25") if manifest.bm25 else None,
    )
