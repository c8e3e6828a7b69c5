"""``POST /v1/search``: text -> documents over a ``muvera`` index."""

from __future__ import annotations

import time

from fastapi import APIRouter

from matlas.api.deps import ServiceDep, SettingsDep
from matlas.api.errors import responses
from matlas.api.models import SearchRequest, SearchResponse

router = APIRouter(tags=["search"])


@router.post("/search", response_model=SearchResponse, responses=responses(404, 413, 422, 503))
def search(body: SearchRequest, service: ServiceDep, settings: SettingsDep) -> SearchResponse:
    """Rank documents of a muvera index, on FAISS or Qdrant, for a text query (422 naming the kind for a
    crossmodal index; 503 with the reason when the index is on a Qdrant that cannot be reached)."""
    name = body.index or settings.default_index
    searcher = service.searcher(name)
    start = time.perf_counter()
    hits = searcher.search(body.query, body.k, mode=body.mode, candidates=body.candidates)
    took_ms = (time.perf_counter() - start) * 1000
    return SearchResponse(
        index=name, version=searcher.index.manifest.version, mode=body.mode, took_ms=round(took_ms, 3), hits=hits
    )
