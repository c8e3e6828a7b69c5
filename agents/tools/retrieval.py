"""Retrieval expert: search the platform's own document indexes (MUVERA multi-vector search)."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from agents.tools._common import make_tool
from matlas.errors import IndexNotFound, InvalidInput
from retrieval.search import Hit
from retrieval.service import SearchService

__all__ = ["retrieval_tools"]

SNIPPET_CHARS = 300


class _SearchDocuments(BaseModel):
    query: str = Field(min_length=3, max_length=500, description="What to look for, in words.")
    index: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Index name; default the platform's default index."
    )
    k: int = Field(5, ge=1, le=20, description="How many documents to return.")


def retrieval_tools(service: SearchService, default_index: str) -> list[BaseTool]:
    """The retrieval expert's tools over ``service``; ``default_index`` is searched when the model names none."""

    def search_documents(args: _SearchDocuments) -> dict[str, Any]:
        name = args.index or default_index
        try:
            searcher = service.searcher(name)
        except IndexNotFound:
            known = [entry.name for entry in service.catalog.entries(service.kind)]
            raise InvalidInput(f"no index named {name!r}; available indexes: {known}") from None
        hits = service.search(searcher, args.query, args.k)
        if not hits:
            raise InvalidInput(f"no document of index {name!r} matches query={args.query!r}")
        return {"index": name, "results": [_hit(h) for h in hits], "returned": len(hits), "truncated": False}

    return [make_tool(
        search_documents, name="search_documents", args_schema=_SearchDocuments,
        description="Search the platform's document indexes (materials descriptions, synthesis texts, papers) "
        "for a query; returns ranked documents with their ids (cite them), titles, scores and short text.",
    )]


def _hit(hit: Hit) -> dict[str, Any]:
    """A search hit cut for the model: id, title, score, a text snippet and scalar metadata."""
    text = hit.text if len(hit.text) <= SNIPPET_CHARS else hit.text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " ..."
    out = {"id": hit.id, "title": hit.title, "score": round(hit.score, 4), "text": text}
    if metadata := {k: v for k, v in hit.metadata.items() if isinstance(v, (str, int, float, bool))}:
        out["metadata"] = metadata
    return out
