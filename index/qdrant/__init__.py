"""Indexes on Qdrant: versions as collections behind an alias, batched resumable uploads, server-side search.

``QdrantStore`` is one deployment (a server, a cluster, or local mode); ``store.root(name)`` the
versions of one index; ``build_index`` / ``append_documents`` write versions; ``open_index`` opens
one for ``retrieval.qdrant_search.QdrantSearcher``.
"""

from index.qdrant.build import append_documents, build_index, publish_encoded
from index.qdrant.manifest import QdrantManifest
from index.qdrant.params import QdrantParams
from index.qdrant.search import QdrantDocuments, QdrantVersion, open_index
from index.qdrant.store import QdrantStore
from index.qdrant.versions import QdrantRoot

__all__ = [
    "QdrantDocuments", "QdrantManifest", "QdrantParams", "QdrantRoot", "QdrantStore", "QdrantVersion",
    "append_documents", "build_index", "open_index", "publish_encoded",
]
