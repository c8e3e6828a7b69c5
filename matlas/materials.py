"""Materials for the front doors (web pages, structure export, MCP): a material's record with units
and provenance, its structure in CIF / POSCAR / pymatgen JSON, its recipes, and session artifacts.

Everything goes through the same mp-api client the agents use (live MP with a key, else the
snapshot server), so a page shows what a chat answer cites.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pymatgen.core import Structure

from agents.artifacts import ArtifactStore
from agents.mp.client import client_of, open_rester
from agents.tools._mp import parse_material_id
from agents.tools.synthesis import recipe
from matlas.errors import ArtifactNotFound, InvalidInput, MaterialNotFound
from matlas.settings import Settings
from matlas.wiring import mp_client

__all__ = [
    "FORMATS", "PROPERTIES", "ExportFormat", "Material", "StructureFile", "artifact_file", "artifact_structure",
    "export_structure", "get_material", "material_file", "material_recipes", "session_artifacts",
]

ExportFormat = Literal["cif", "poscar", "json"]
FORMATS: dict[str, tuple[str, str]] = {  # format -> (media type, file suffix)
    "cif": ("chemical/x-cif", "cif"),
    "poscar": ("text/plain", "vasp"),
    "json": ("application/json", "json"),
}
# (field or dotted path, label, unit) of the properties a material page and `fetch` show.
PROPERTIES: list[tuple[str, str, str]] = [
    ("formula_pretty", "Formula", ""),
    ("symmetry.symbol", "Space group", ""),
    ("symmetry.crystal_system", "Crystal system", ""),
    ("nsites", "Sites in cell", ""),
    ("volume", "Cell volume", "Å³"),
    ("density", "Density", "g/cm³"),
    ("band_gap", "Band gap", "eV"),
    ("is_gap_direct", "Direct gap", ""),
    ("is_metal", "Metal", ""),
    ("formation_energy_per_atom", "Formation energy", "eV/atom"),
    ("energy_above_hull", "Energy above hull", "eV/atom"),
    ("is_stable", "Stable", ""),
    ("bulk_modulus.vrh", "Bulk modulus (VRH)", "GPa"),
    ("shear_modulus.vrh", "Shear modulus (VRH)", "GPa"),
    ("e_total", "Dielectric constant (total)", ""),
    ("n", "Refractive index", ""),
    ("ordering", "Magnetic ordering", ""),
    ("total_magnetization", "Total magnetization", "μB/cell"),
]
_HANDLE = re.compile(r"^(?:artifact://)?(?:structure[/-])?([0-9a-f]{12})$")


@dataclass
class Material:
    """One material's summary record, where it came from, and its structure."""

    material_id: str
    record: dict[str, Any]
    source: str = field(metadata={"description": "'Materials Project (live)' or 'local MP snapshot'."})
    endpoint: str
    database_version: str | None

    @property
    def structure(self) -> Structure:
        """The material's structure (``MaterialNotFound`` if the record has none)."""
        if not self.record.get("structure"):
            raise MaterialNotFound(f"{self.material_id} has no structure in {self.source}")
        return Structure.from_dict(self.record["structure"])

    def properties(self) -> list[dict[str, Any]]:
        """``[{field, label, value, unit}]`` for each of ``PROPERTIES`` the record holds."""
        shown = []
        for path, label, unit in PROPERTIES:
            value: Any = self.record
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is not None:
                shown.append({"field": path, "label": label, "value": value, "unit": unit})
        return shown

    def provenance(self) -> dict[str, Any]:
        """Where the record was read: source, endpoint and the database version it reported."""
        return {"source": self.source, "endpoint": self.endpoint, "database_version": self.database_version}


def get_material(settings: Settings, material_id: str) -> Material:
    """The summary record of ``material_id`` (``InvalidInput`` if malformed, ``MaterialNotFound`` if absent)."""
    material_id = parse_material_id(material_id)
    with open_rester(settings, use_document_model=False) as mpr:
        docs = mpr.materials.summary.search(material_ids=[material_id], num_chunks=1, chunk_size=1)
        version = mpr.db_version
        endpoint = str(mpr.endpoint)
    if not docs:
        where = "the live Materials Project" if client_of(settings).config.key else "the local MP snapshot"
        raise MaterialNotFound(f"no material {material_id!r} in {where}")
    record = {k: v for k, v in docs[0].items() if v is not None}
    source = "Materials Project (live)" if client_of(settings).config.key else "local MP snapshot"
    return Material(material_id, record, source, endpoint, version)


def material_recipes(settings: Settings, material: Material, limit: int = 10) -> list[dict[str, Any]]:
    """Text-mined recipes whose target is the material's formula; those linked to its id come first."""
    formula = material.record.get("formula_pretty")
    if not formula:
        return []
    docs = mp_client(settings).search("synthesis", limit=limit, target_formula=formula)[:limit]
    found = [recipe(d) for d in docs]
    return sorted(found, key=lambda r: r.get("target_mp_id") != material.material_id)


@dataclass
class StructureFile:
    """A structure written in one format, with a file name and media type for downloads."""

    text: str
    media_type: str
    filename: str


def export_structure(structure: Structure, fmt: str, *, name: str, notes: dict[str, Any]) -> StructureFile:
    """``structure`` as CIF, POSCAR or pymatgen JSON; ``notes`` (provenance, history) go in a CIF comment,
    the POSCAR comment line, or the JSON's ``properties["matlas"]``."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown structure format {fmt!r}; use one of {sorted(FORMATS)}")
    media_type, suffix = FORMATS[fmt]
    if fmt == "json":
        data = structure.as_dict()
        data["properties"] = {**data.get("properties", {}), "matlas": notes}
        text = json.dumps(data, indent=1)
    elif fmt == "cif":
        from pymatgen.io.cif import CifWriter

        comment = "".join(f"# {k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in notes.items())
        text = comment + str(CifWriter(structure))
    else:
        from pymatgen.io.vasp import Poscar

        comment = f"{name} {json.dumps(notes, ensure_ascii=False)}".replace("\n", " ")
        text = Poscar(structure, comment=comment).get_str()
    filename = f"{name}.{suffix}" if fmt != "poscar" else f"{name}.POSCAR.vasp"
    return StructureFile(text, media_type, filename)


def material_file(material: Material, fmt: str) -> StructureFile:
    """A material's structure in ``fmt``, noting its id and provenance."""
    notes = {"material_id": material.material_id, **material.provenance()}
    return export_structure(material.structure, fmt, name=material.material_id, notes=notes)


def session_artifacts(settings: Settings, session_id: str) -> ArtifactStore:
    """The artifact store the agents of chat session ``session_id`` write to."""
    return ArtifactStore(settings.home / "artifacts" / session_id)


def artifact_file(store: ArtifactStore, handle: str, fmt: str) -> StructureFile:
    """A structure artifact of ``store`` in ``fmt``, noting what was done to it (and "not relaxed" if derived)."""
    structure, notes, full = artifact_structure(store, handle)
    return export_structure(structure, fmt, name=full.rsplit("/", 1)[1], notes=notes)


def artifact_structure(store: ArtifactStore, handle: str) -> tuple[Structure, dict[str, Any], str]:
    """A structure an agent stored: (structure, notes on what was done to it, full handle)."""
    match = _HANDLE.match(handle.strip())
    if match is None:
        raise InvalidInput(f"invalid structure handle {handle!r}: expected artifact://structure/<12 hex digits> "
                           "or the 12 hex digits")
    full = f"artifact://structure/{match.group(1)}"
    if full not in store.handles():
        raise ArtifactNotFound(f"no structure {full} here; the session holds {store.handles()}")
    meta = store.meta(full)
    history = meta.get("history", [])
    derived = len(history) > 1 or "parent" in meta
    notes = {
        "handle": full, "derived_from": meta.get("material_id"), "parent": meta.get("parent"),
        "history": history, "relaxed": False if derived else None,
        "note": "not relaxed: a geometric estimate derived by the agent's structure tools" if derived
        else "as fetched from the Materials Project",
    }
    return store.get_structure(full), {k: v for k, v in notes.items() if v is not None}, full

