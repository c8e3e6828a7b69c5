"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from index.manifest import IndexManifest
from retrieval.search import MAX_K, Hit, SearchMode

__all__ = ["IndexInfo", "SearchRequest", "SearchResponse"]


class SearchRequest(BaseModel):
    """A retrieval query."""

    query: str = Field(min_length=1, max_length=10_000, description="Query text.")
    k: int = Field(10, ge=1, le=MAX_K, description="Number of hits.")
    mode: SearchMode = Field("muvera", description="muvera | dense | exact | hybrid")
    index: str | None = Field(None, description="Index name; default: the configured default index.")
    candidates: int | None = Field(None, ge=1, le=100_000, description="FDE candidates re-ranked.")

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must not be blank")
        return value


class SearchResponse(BaseModel):
    """Ranked hits for a query."""

    index: str
    version: str
    mode: SearchMode
    took_ms: float = Field(description="Server-side search time in milliseconds.")
    hits: list[Hit]


class IndexInfo(BaseModel):
    """One served index: its serving version, all versions and its manifest."""

    name: str
    version: str
    versions: list[str]
    manifest: IndexManifest
