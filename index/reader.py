"""Open one published index version for searching."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faiss

from gpu.faiss_gpu import to_gpu
from index.faiss_index import read_index
from index.manifest import IndexManifest
from index.stores import DocumentStore, TokenStore
from index.versions import IndexRoot
from retrieval.bm25 import BM25Index

__all__ = ["IndexVersion", "open_index"]


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

    @classmethod
    def open(cls, path: Path) -> IndexVersion:
        """Load the version stored in directory ``path``."""
        manifest = IndexManifest.read(path)
        return cls(
            path=path,
            manifest=manifest,
            fde_index=to_gpu(read_index(path / "fde.faiss")),
            tokens=TokenStore(path, manifest.shards),
            documents=DocumentStore(path, manifest.shards),
            dense_index=to_gpu(read_index(path / "dense.faiss")) if manifest.dense else None,
            bm25=BM25Index.load(path / "bm25") if manifest.bm25 else None,
        )


def open_index(root: Path | str, version: str | None = None) -> IndexVersion:
    """Open the serving version of the index at ``root`` (or the named ``version``)."""
    index_root = IndexRoot(root)
    name = version or index_root.current()
    return IndexVersion.open(index_root.versions_dir / name)
