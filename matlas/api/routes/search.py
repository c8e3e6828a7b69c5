"""``POST /v1/search``: text -> documents over a ``muvera`` index."""

from __future__ import annotations

import time

from fastapi import APIRouter

from matlas.api.deps import SearchLimitDep, ServiceDep, SettingsDep
from matlas.api.errors import responses
from matlas.api.models import SearchRequest, SearchResponse
from matlas.errors import Forbidden
from matlas.security.keys import Principal

router = APIRouter(tags=["search"])


def check_exact(caller: Principal, mode: str, name: str, documents: int, cap: int, candidates: int | None = None) -> None:
    """``Forbidden`` when a read key asks to re-rank more than ``cap`` documents by MaxSim: exact (brute-force)
    search over an index of more than ``cap`` documents, or more than ``cap`` candidates."""
    if caller.is_admin:
        return
    if mode == "exact" and documents > cap:
        raise Forbidden(f"exact search over {name!r} ({documents} documents) needs an admin key: read keys may "
                        f"run it over at most {cap} documents; use mode 'muvera'")
    if candidates is not None and candidates > cap:
        raise Forbidden(f"{candidates} candidates need an admin key: read keys may re-rank at most {cap}")


@router.post("/search", response_model=SearchResponse, responses=responses(403, 404, 413, 422, 429, 503))
def search(body: SearchRequest, service: ServiceDep, settings: SettingsDep, caller: SearchLimitDep) -> SearchResponse:
    """Rank documents of a muvera index, on FAISS or Qdrant, for a text query (422 naming the kind for a
    crossmodal index; 503 with the reason when the index is on a Qdrant that cannot be reached).

    ``exact`` (brute-force MaxSim over every document) over an index larger than
    ``MATLAS_EXACT_MAX_DOCUMENTS``, or more ``candidates`` than that, needs an admin key (403 for a read key).
    """
    name = body.index or settings.default_index
    searcher = service.searcher(name)
    check_exact(caller, body.mode, name, searcher.index.manifest.documents, settings.exact_max_documents,
                body.candidates)
    start = time.perf_counter()
    hits = service.search(searcher, body.query, body.k, mode=body.mode, candidates=body.candidates)
    took_ms = (time.perf_counter() - start) * 1000
    return SearchResponse(
        index=name, version=searcher.index.manifest.version, mode=body.mode, took_ms=round(took_ms, 3), hits=hits
    )
