"""``POST /v1/search``: text -> documents over a ``muvera`` index."""

from __future__ import annotations

import time

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from matlas.api.deps import ServiceDep, SettingsDep
from matlas.api.errors import responses
from matlas.api.models import SearchRequest, SearchResponse
from retrieval.service import SearchService

router = APIRouter(tags=["search"])


def _search(service: SearchService, name: str, body: SearchRequest) -> SearchResponse:
    searcher = service.searcher(name)
    start = time.perf_counter()
    hits = searcher.search(body.query, body.k, mode=body.mode, candidates=body.candidates)
    took_ms = (time.perf_counter() - start) * 1000
    return SearchResponse(
        index=name, version=searcher.index.manifest.version, mode=body.mode, took_ms=round(took_ms, 3), hits=hits
    )


@router.post("/search", response_model=SearchResponse, responses=responses(404, 413, 422))
async def search(body: SearchRequest, service: ServiceDep, settings: SettingsDep) -> SearchResponse:
    """Rank documents of a muvera index for a text query (422 naming the kind for a crossmodal index)."""
    # async, with the search in one worker thread: a sync route costs a second thread round trip
    # to validate the response
    return await run_in_threadpool(_search, service, body.index or settings.default_index, body)
