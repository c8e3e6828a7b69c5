"""``POST /v1/crossmodal/search``: structures for a text, or texts for a structure, by binary codes."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, model_validator

from matlas.api.deps import ServiceDep, SettingsDep
from matlas.errors import InvalidInput
from retrieval.crossmodal import CrossModalHit, CrossModalSearcher, parse_structure
from retrieval.service import resolve_index

router = APIRouter(tags=["crossmodal"])
_LOCK = threading.Lock()


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


def _searcher(request: Request, name: str, service: ServiceDep, settings: SettingsDep) -> CrossModalSearcher:
    """The searcher of the serving version of ``name``, cached per version on the app."""
    root = resolve_index(name, settings.indexes_dir, allow_paths=False)
    key = (str(root.path.resolve()), root.current())
    with _LOCK:
        cache = request.app.state.__dict__.setdefault("_crossmodal", {})
        if key not in cache:
            searcher = CrossModalSearcher(root.path, None)
            searcher.encoder = service.encoder(searcher.manifest.meta.get("encoder") or settings.encoder_model)
            cache[key] = searcher
        return cache[key]


@router.post("/crossmodal/search", response_model=CrossModalResponse)
def crossmodal_search(body: CrossModalRequest, request: Request, service: ServiceDep,
                      settings: SettingsDep) -> CrossModalResponse:
    """Rank structures for a text, or texts for a structure, over a cross-modal hash index."""
    searcher = _searcher(request, body.index, service, settings)
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
