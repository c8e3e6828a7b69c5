"""Indexes on Qdrant: versions as collections behind an alias, batched resumable uploads, server-side search.

``QdrantStore`` is one deployment (a server, a cluster, or local mode); ``store.root(name)`` the
versions of one index; ``build_index`` / ``append_documents`` write versions; ``open_index`` opens
one for ``retrieval.qdrant_search.QdrantSearcher``. Names load on first use (the settings import
``QdrantParams`` without loading the client).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "QdrantDocuments", "QdrantManifest", "QdrantParams", "QdrantRoot", "QdrantStore", "QdrantVersion",
    "append_documents", "build_index", "open_index", "publish_encoded",
]

_HOMES = {
    "QdrantDocuments": "search", "QdrantManifest": "manifest", "QdrantParams": "params", "QdrantRoot": "versions",
    "QdrantStore": "store", "QdrantVersion": "search", "append_documents": "build", "build_index": "build",
    "open_index": "search", "publish_encoded": "build",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'index.qdrant' has no attribute {name!r}")
    return getattr(importlib.import_module(f"index.qdrant.{_HOMES[name]}"), name)
