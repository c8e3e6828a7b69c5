"""A small but complete matlas data folder for front-door tests: a document index, a cross-modal hash
index over the bundled MP sample (with generated descriptions), the MP snapshot, and the env of a
``matlas serve`` / ``matlas mcp`` process over them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests._support.mp import MP_SAMPLE

SAMPLE_MATERIALS = MP_SAMPLE / "materials.jsonl"

SI_ANSWER = "Silicon (mp-149) has a band gap of 0.61 eV."
SI_REPLIES = [  # scripted provider replies of one grounded turn: the linker fetched Si's band gap, the model writes
    {"text": SI_ANSWER},
]


def describe(record: dict) -> str:
    """A robocrys-like description of a sample material, from its own fields."""
    symmetry = record["symmetry"]
    kind = "metal" if record.get("is_metal") else f"semiconductor with a {record['band_gap']} eV band gap"
    return (f"{record['formula_pretty']} crystallizes in the {symmetry['crystal_system'].lower()} "
            f"{symmetry['symbol']} space group; it is a {kind} with {record['nsites']} sites in its cell.")


def build_platform(root: Path, *, encoder, document_index: Path, mp_db: Path) -> dict[str, str]:
    """Indexes and snapshot under ``root``; returns the ``MATLAS_*`` environment of a server over them."""
    from retrieval.crossmodal import fit_crossmodal, load_snapshot
    from retrieval.hashing import RREH

    snapshot = root / "snapshot"
    snapshot.mkdir(parents=True)
    shutil.copy(SAMPLE_MATERIALS, snapshot / "materials.jsonl")
    records = [json.loads(line) for line in SAMPLE_MATERIALS.read_text().splitlines()]
    with open(snapshot / "descriptions_robocrys.jsonl", "w") as f:
        f.writelines(json.dumps({"material_id": r["material_id"], "formula_pretty": r["formula_pretty"],
                                "description": describe(r)}) + "\n" for r in records)
    indexes = root / "indexes"
    shutil.copytree(document_index, indexes / document_index.name)
    hasher = RREH(32, modalities=("text", "structure"), anchors=8, neighbours=3, kernel=12, iters=10)
    fit_crossmodal(load_snapshot(snapshot), indexes / "crossmodal", encoder, hasher=hasher)
    return {
        "MATLAS_HOME": str(root / "home"), "MATLAS_INDEX_ROOT": str(indexes),
        "MATLAS_DEFAULT_INDEX": document_index.name, "MATLAS_MP_DB": str(mp_db),
        "MATLAS_MP_SNAPSHOT": str(snapshot),
    }
