"""The manifest of a Qdrant index version, kept in its collection's metadata."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError

from index.manifest import FORMAT_VERSION, IndexManifest
from index.qdrant.params import QdrantParams
from matlas.errors import IndexNotFound

__all__ = ["MANIFEST_KEY", "PENDING_KEY", "QdrantManifest"]

MANIFEST_KEY = "matlas_manifest"  # collection metadata: the manifest of a complete version
PENDING_KEY = "matlas_pending"  # collection metadata: the build key of a version still being uploaded


class QdrantManifest(IndexManifest):
    """An ``IndexManifest`` (encoder, FDE parameters and seed, counts, corpus checksum) of a version
    stored as one Qdrant collection; ``factory`` is ``'qdrant'`` and ``shards`` is empty."""

    backend: Literal["qdrant"] = "qdrant"
    collection: str = Field(description="The collection holding this version.")
    storage: QdrantParams = Field(description="Vector storage choices the collection was made with.")

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any] | None, collection: str) -> QdrantManifest:
        """The manifest in a collection's metadata; ``IndexNotFound`` if it has none (an unfinished upload)."""
        data = (metadata or {}).get(MANIFEST_KEY)
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            raise IndexNotFound(f"Qdrant collection {collection!r} holds no complete matlas index version")
        try:
            return cls.model_validate(data)
        except ValidationError:
            raise IndexNotFound(f"Qdrant collection {collection!r} holds an unreadable manifest") from None
