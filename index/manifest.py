"""The ``manifest.json`` beside every index version: what was built, from what, and how."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, Field, ValidationError

from matlas.errors import IndexNotFound, InvalidInput
from retrieval.fde import FDEParams

__all__ = ["FORMAT_VERSION", "EncoderInfo", "IndexManifest", "VersionManifest"]

FORMAT_VERSION = 1


class EncoderInfo(BaseModel):
    """The text encoder an index was built with; queries must use the same one."""

    model_id: str = Field(description="Model name or path given at build time.")
    dim: int = Field(description="Token (and pooled) vector dimension.")
    max_length: int = Field(description="Tokens kept per text; longer texts are truncated.")
    backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "torch", description="Inference backend of the encoder; queries use the same one."
    )

    @classmethod
    def of(cls, encoder: Any) -> EncoderInfo:
        """The record of a loaded encoder (anything with ``model_id``, ``dim``, ``max_length``, ``backend``)."""
        return cls(model_id=encoder.model_id, dim=encoder.dim, max_length=encoder.max_length, backend=encoder.backend)

    def check(self, other: EncoderInfo, index: str) -> None:
        """``InvalidInput`` unless ``other`` (an encoder about to be used) is this one."""
        if (other.model_id, other.dim, other.backend) != (self.model_id, self.dim, self.backend):
            raise InvalidInput(
                f"index {index!r} was built with encoder {self.model_id!r} ({self.dim} dims, backend "
                f"{self.backend!r}), not {other.model_id!r} ({other.dim} dims, backend {other.backend!r})"
            )


class VersionManifest(BaseModel):
    """What every version's ``manifest.json`` holds, and how it is written and read."""

    format_version: int = Field(FORMAT_VERSION, description="On-disk format of this directory.")
    name: str = Field(description="Index name (the folder name of the index root).")
    version: str = Field(description="Version directory name, e.g. 'v000003'.")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def write(self, directory: Path) -> None:
        """Write ``manifest.json`` into ``directory``."""
        (directory / "manifest.json").write_text(self.model_dump_json(indent=2) + "\n")

    @classmethod
    def read(cls, directory: Path) -> Self:
        """Read and validate ``directory/manifest.json``; ``IndexNotFound`` if it is not one of ``cls``."""
        data = json.loads((directory / "manifest.json").read_text())
        if data.get("format_version") != FORMAT_VERSION:
            raise IndexNotFound(
                f"{directory}: index format {data.get('format_version')!r} is not supported (expected {FORMAT_VERSION})"
            )
        try:
            return cls.model_validate(data)
        except ValidationError:
            raise IndexNotFound(f"{directory} does not hold a {cls.__name__}") from None


class IndexManifest(VersionManifest):
    """Everything needed to read, search and reproduce one float (MUVERA) index version."""

    parent: str | None = Field(None, description="Version this one appended to, if any.")
    encoder: EncoderInfo
    fde: FDEParams = Field(description="MUVERA FDE parameters, seed included.")
    fde_dim: int = Field(description="Dimension of the FDE vectors in the FAISS index.")
    factory: str = Field(description="FAISS index-factory string of the FDE index (metric IP).")
    search_params: str = Field("", description="FAISS ParameterSpace string applied at search.")
    documents: int = Field(description="Number of documents.")
    tokens: int = Field(description="Number of stored token vectors (float16).")
    shards: list[str] = Field(description="Token/document store shard names, in id order.")
    corpus_sha256: str = Field(description="SHA-256 chained over the documents, in id order.")
    dense: bool = Field(True, description="A pooled single-vector index is present.")
    bm25: bool = Field(True, description="A BM25 index is present.")
