"""``GET /v1/indexes`` and ``GET /v1/indexes/{name}``: every built index, of every kind."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from matlas.api.deps import CatalogDep
from matlas.api.errors import responses
from matlas.api.models import IndexInfo
from retrieval.catalog import INDEX_NAME, IndexEntry

router = APIRouter(tags=["indexes"])

NamePath = Annotated[str, Path(pattern=f"^{INDEX_NAME}$", description="Index name.")]


def _info(entry: IndexEntry) -> IndexInfo:
    return IndexInfo(name=entry.name, kind=entry.kind, version=entry.manifest.version, backend=entry.backend,
                     versions=entry.root.versions(), manifest=entry.manifest)


@router.get("/indexes", response_model=list[IndexInfo])
def list_indexes(catalog: CatalogDep) -> list[IndexInfo]:
    """Every built index with its kind, backend, serving version and manifest (Qdrant's left out while it is down)."""
    return [_info(entry) for entry in catalog.entries()]


@router.get("/indexes/{name}", response_model=IndexInfo, responses=responses(404, 422, 503))
def get_index(name: NamePath, catalog: CatalogDep) -> IndexInfo:
    """One index by name."""
    return _info(catalog.entry(name))
