"""``POST /v1/crossmodal/search``: structures for a text, or texts for a structure, by binary codes."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from matlas.api.deps import ServiceDep, SettingsDep
from matlas.errors import InvalidInput
from retrieval.crossmodal import CrossModalHit, parse_structure

router = APIRouter(tags=["crossmodal"])


class CrossModalRequest(BaseModel):
    """A cross-modal query: exactly one of ``text`` and ``structure``."""

    text: str | None = Field(None, max_length=10_000, description="Describe a material; returns structures.")
    structure: str | dict[str, Any] | None = Field(
        None, description="CIF text, a pymatgen Structure dict, or an mp-id in the snapshot; returns texts.")
    k: int = Field(10, ge=1, le=1000, description="Number of hits.")
    index: str = Field("crossmodal", description="Cross-modal index name under the index root.")

    @model_validator(mode="after")
    def _one_query(self) -> CrossModalRequest:
        if (self.text is None) == (self.structure is None):
            raise ValueError("give exactly one of 'text' and 'structure'")
        if self.text is not None and not self.text.strip():
            raise ValueError("text must not be blank")
        return self


class CrossModalResponse(BaseModel):
    """Hits of the other modality, nearest binary codes first."""

    index: str
    version: str
    query_modality: str = Field(description="'text' or 'structure'.")
    took_ms: float = Field(description="Server-side time in milliseconds (features, coding, search).")
    hits: list[CrossModalHit]


@router.post("/crossmodal/search", response_model=CrossModalResponse)
def crossmodal_search(body: CrossModalRequest, service: ServiceDep, settings: SettingsDep) -> CrossModalResponse:
    """Rank structures for a text, or texts for a structure, over a cross-modal hash index."""
    searcher = service.crossmodal(body.index, settings.encoder_model)
    start = time.perf_counter()
    if body.structure is not None:
        if isinstance(body.structure, str) and not body.structure.strip():
            raise InvalidInput("structure must not be blank")
        hits = searcher.search(structure=parse_structure(body.structure, settings.mp_snapshot), k=body.k)
    else:
        hits = searcher.search(text=body.text, k=body.k)
    took_ms = (time.perf_counter() - start) * 1000
    return CrossModalResponse(index=body.index, version=searcher.manifest.version, took_ms=round(took_ms, 3),
                              query_modality="text" if body.text is not None else "structure", hits=hits)
