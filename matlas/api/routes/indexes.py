"""``GET /v1/indexes`` and ``GET /v1/indexes/{name}``."""

from __future__ import annotations

from fastapi import APIRouter

from index.manifest import IndexManifest
from matlas.api.deps import ServiceDep
from matlas.api.models import IndexInfo

router = APIRouter(tags=["indexes"])


@router.get("/indexes", response_model=list[IndexInfo])
def list_indexes(service: ServiceDep) -> list[IndexInfo]:
    """Every built index with its serving version and manifest."""
    return [
        IndexInfo(name=root.name, version=m.version, versions=root.versions(), manifest=m)
        for root, m in service.list_indexes()
    ]


@router.get("/indexes/{name}", response_model=IndexInfo)
def get_index(name: str, service: ServiceDep) -> IndexInfo:
    """One index by name."""
    root = service.resolve(name)
    manifest = IndexManifest.read(root.current_path())
    return IndexInfo(name=root.name, version=manifest.version, versions=root.versions(), manifest=manifest)
