"""Fill a snapshot from a live MP endpoint (or any MP-protocol server) through the real client."""

from __future__ import annotations

from math import ceil

from pydantic import ValidationError

from agents.mp.client import MPClient
from agents.mp.snapshot import MaterialRecord, Provenance, Snapshot
from matlas.errors import InvalidInput, UpstreamError

__all__ = ["SYNC_FIELDS", "sync_materials"]

SYNC_FIELDS = [f for f in MaterialRecord.model_fields if f != "entries"]
"""Summary fields copied into the snapshot: everything the snapshot endpoints serve (entries are
thermo's, not summary's: import them with ``matlas mp import --entries``)."""

CHUNK = 500


def sync_materials(
    client: MPClient,
    snapshot: Snapshot,
    *,
    elements: list[str] | None = None,
    material_ids: list[str] | None = None,
    limit: int = 1000,
) -> int:
    """Copy up to ``limit`` summary docs (materials with all ``elements``, or ``material_ids``) from
    ``client``'s endpoint into ``snapshot``, upserting by id; returns how many were copied."""
    if (elements is None) == (material_ids is None):
        raise InvalidInput(
            "give either --elements (e.g. Li,Fe,O) or --ids (e.g. mp-149,mp-13), not both"
        )
    if client.config.key is None and client.config.endpoint is None:
        raise InvalidInput(
            "sync needs a live endpoint: set MP_API_KEY (or MATLAS_MP_ENDPOINT, another MP server)"
        )
    if limit < 1:
        raise InvalidInput(f"limit must be at least 1, got {limit}")
    criteria = {"elements": elements} if elements is not None else {"material_ids": material_ids}
    with client.rester(use_document_model=False) as rester:
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
    provenance = Provenance(name=f"synced from {client.endpoint}", sources=[client.endpoint])
    return snapshot.upsert_materials(records, provenance)
