"""Request and response bodies of the HTTP API (search, indexes, cross-modal search).

Numbers are strict (``k: 10``, not ``"10"``, ``10.0`` or ``true``); index names match
``INDEX_NAME`` whole; texts are capped. What the schema cannot state (a blank text, an
unreadable structure) is a 422 whose ``detail`` is a string.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from index.binary import BinaryIndexManifest
from index.manifest import IndexManifest
from index.qdrant.manifest import QdrantManifest
from retrieval.catalog import INDEX_NAME, IndexKind
from retrieval.crossmodal import CrossModalHit
from retrieval.search import MAX_K, Hit, SearchMode
from retrieval.structures import MAX_STRUCTURE_CHARS

__all__ = ["CrossModalRequest", "CrossModalResponse", "IndexInfo", "IndexName", "SearchRequest", "SearchResponse"]

MAX_QUERY_CHARS = 10_000


def _index_name(value: str) -> str:
    if not re.fullmatch(INDEX_NAME, value):
        raise ValueError(f"invalid index name {value[:80]!r}: use 1 to 64 letters, digits, '-' and '_'")
    return value


IndexName = Annotated[str, AfterValidator(_index_name), Field(
    json_schema_extra={"pattern": f"^{INDEX_NAME}$"}, description="Index name: 1 to 64 letters, digits, '-', '_'.")]


def _not_blank(value: str, what: str) -> str:
    if not value.strip():
        raise ValueError(f"{what} must not be blank")
    return value


class SearchRequest(BaseModel):
    """A retrieval query over a ``muvera`` index."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="Query text.")
    k: StrictInt = Field(10, ge=1, le=MAX_K, description="Number of hits.")
    mode: SearchMode = Field("muvera", description="muvera | dense | exact | hybrid")
    index: IndexName | None = Field(None, description="Index name; default: the configured default index.")
    candidates: StrictInt | None = Field(None, ge=1, le=100_000, description="FDE candidates re-ranked.")

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        return _not_blank(value, "query")


class SearchResponse(BaseModel):
    """Ranked hits for a query."""

    index: str
    version: str
    mode: SearchMode
    took_ms: float = Field(description="Server-side search time in milliseconds.")
    hits: list[Hit]


class IndexInfo(BaseModel):
    """One served index: its kind, serving version, all versions and its manifest."""

    name: str
    kind: IndexKind = Field(description="muvera (text -> documents, POST /v1/search) or crossmodal "
                                        "(text <-> structure, POST /v1/crossmodal/search).")
    version: str
    versions: list[str]
    backend: Literal["faiss", "qdrant"] = Field("faiss", description="Where the index lives.")
    manifest: QdrantManifest | IndexManifest | BinaryIndexManifest = Field(
        description="IndexManifest (muvera on FAISS), QdrantManifest (muvera on Qdrant) or BinaryIndexManifest (crossmodal).")


StructureText = Annotated[str, Field(min_length=1, max_length=MAX_STRUCTURE_CHARS)]


class CrossModalRequest(BaseModel):
    """A cross-modal query: exactly one of ``text`` and ``structure``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "oneOf": [{"required": ["text"]}, {"required": ["structure"]}]})

    text: SkipJsonSchema[None] | Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS)] = Field(
        None, description="Describe a material; returns structures.")
    structure: SkipJsonSchema[None] | StructureText | dict[str, Any] = Field(
        None, description="CIF or POSCAR text, a pymatgen Structure as a dict ({'lattice': {'matrix': ...}, "
                          "'sites': [...]}) or JSON text, or an mp-id in the MP snapshot; returns texts. "
                          "Never a file path. At most 500 sites.")
    k: StrictInt = Field(10, ge=1, le=1000, description="Number of hits.")
    index: IndexName = Field("crossmodal", description="Name of a crossmodal index.")

    @model_validator(mode="before")
    @classmethod
    def _one_query(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = [f for f in ("text", "structure") if f in data]
            if len(given) != 1:
                raise ValueError("give exactly one of 'text' and 'structure'")
            if data[given[0]] is None:
                raise ValueError(f"'{given[0]}' must not be null")
        return data

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return value if value is None else _not_blank(value, "text")


class CrossModalResponse(BaseModel):
    """Hits of the other modality, nearest binary codes first."""

    index: str
    version: str
    query_modality: Literal["text", "structure"]
    took_ms: float = Field(description="Server-side time in milliseconds (features, coding, search).")
    hits: list[CrossModalHit]
