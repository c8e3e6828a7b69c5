"""Fill a snapshot from a live MP endpoint (or any MP-protocol server) through the real client."""

from __future__ import annotations

from math import ceil

from pydantic import ValidationError

from agents.mp.client import api_key, open_rester
from agents.mp.snapshot import MaterialRecord, Snapshot
from matlas.errors import InvalidInput, UpstreamError
from matlas.settings import Settings

__all__ = ["SYNC_FIELDS", "sync_materials"]

SYNC_FIELDS = list(MaterialRecord.model_fields)
"""Summary fields copied into the snapshot: everything the snapshot endpoints serve."""

CHUNK = 500


def sync_materials(
    settings: Settings,
    *,
    elements: list[str] | None = None,
    material_ids: list[str] | None = None,
    limit: int = 1000,
) -> int:
    """Copy up to ``limit`` summary docs (materials with all ``elements``, or ``material_ids``) into
    ``settings.mp_db_path``, upserting by id; returns how many were copied."""
    if (elements is None) == (material_ids is None):
        raise InvalidInput(
            "give either --elements (e.g. Li,Fe,O) or --ids (e.g. mp-149,mp-13), not both"
        )
    if api_key(settings) is None and settings.mp_endpoint is None:
        raise InvalidInput(
            "sync needs a live endpoint: set MP_API_KEY (or MATLAS_MP_ENDPOINT, another MP server)"
        )
    if limit < 1:
        raise InvalidInput(f"limit must be at least 1, got {limit}")
    criteria = {"elements": elements} if elements is not None else {"material_ids": material_ids}
    with open_rester(settings, use_document_model=False) as rester:
        docs = rester.materials.summary.search(
            **criteria,
            fields=SYNC_FIELDS,
            chunk_size=min(limit, CHUNK),
            num_chunks=ceil(limit / min(limit, CHUNK)),
        )
    records = []
    for doc in docs[:limit]:
        try:
            records.append(
                MaterialRecord.model_validate({k: v for k, v in doc.items() if v is not None})
            )
        except ValidationError as err:
            raise UpstreamError(
                f"unexpected summary doc {doc.get('material_id')!r}: {err.errors()[0]['msg']}"
            ) from None
    return Snapshot(settings.mp_db_path).upsert_materials(records)
