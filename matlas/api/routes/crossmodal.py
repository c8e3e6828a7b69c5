"""``POST /v1/crossmodal/search``: structures for a text, or texts for a structure, by binary codes."""

from __future__ import annotations

import time

from fastapi import APIRouter

from matlas.api.deps import CrossModalDep, SearchLimitDep
from matlas.api.errors import responses
from matlas.api.models import CrossModalRequest, CrossModalResponse

router = APIRouter(tags=["crossmodal"])


@router.post("/crossmodal/search", response_model=CrossModalResponse, responses=responses(404, 413, 422, 429))
def crossmodal_search(body: CrossModalRequest, service: CrossModalDep, _: SearchLimitDep) -> CrossModalResponse:
    """Rank structures for a text, or texts for a structure, over a crossmodal index.

    A structure is content (CIF, POSCAR, pymatgen JSON) or an mp-id, checked (finite, sane
    lattice and distances, known elements, at most 500 sites) and analysed in a child process
    within a time bound; a structure that fails any of it is a 422 with the reason.
    """
    start = time.perf_counter()
    searcher, hits = service.search(body.index, text=body.text, structure=body.structure, k=body.k)
    took_ms = (time.perf_counter() - start) * 1000
    return CrossModalResponse(index=body.index, version=searcher.manifest.version, took_ms=round(took_ms, 3),
                              query_modality="text" if body.text is not None else "structure", hits=hits)
