"""The MP snapshot: one SQLite file (WAL) of MP-summary-like materials and synthesis recipes.

Each row keeps the whole document as JSON; the scalar columns that searches filter and sort on
are generated from it (``STORED``, indexed), so the JSON stays the one source of truth.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tqdm.auto import tqdm

from agents.mp.documents import HAS_PROPS, has_props, recipe_doc
from matlas.errors import InvalidInput
from retrieval.corpus import Document

__all__ = [
    "COLUMNS",
    "SAMPLE_MATERIALS",
    "SAMPLE_SYNTHESIS",
    "MaterialRecord",
    "RecipeRecord",
    "Snapshot",
    "SnapshotInfo",
]

M = TypeVar("M", bound=BaseModel)

SAMPLE_MATERIALS = Path(__file__).parent / "data" / "materials.jsonl"
SAMPLE_SYNTHESIS = Path(__file__).parent / "data" / "synthesis.jsonl"

# Generated, indexed columns of ``materials``: name -> (SQL type, JSON path in the document).
COLUMNS: dict[str, tuple[str, str]] = {
    "formula_pretty": ("TEXT", "$.formula_pretty"),
    "formula_anonymous": ("TEXT", "$.formula_anonymous"),
    "chemsys": ("TEXT", "$.chemsys"),
    "nelements": ("INTEGER", "$.nelements"),
    "nsites": ("INTEGER", "$.nsites"),
    "volume": ("REAL", "$.volume"),
    "density": ("REAL", "$.density"),
    "crystal_system": ("TEXT", "$.symmetry.crystal_system"),
    "spacegroup_number": ("INTEGER", "$.symmetry.number"),
    "band_gap": ("REAL", "$.band_gap"),
    "is_metal": ("INTEGER", "$.is_metal"),
    "formation_energy_per_atom": ("REAL", "$.formation_energy_per_atom"),
    "energy_above_hull": ("REAL", "$.energy_above_hull"),
    "is_stable": ("INTEGER", "$.is_stable"),
    "k_vrh": ("REAL", "$.bulk_modulus.vrh"),
    "g_vrh": ("REAL", "$.shear_modulus.vrh"),
    "ordering": ("TEXT", "$.ordering"),
    "e_total": ("REAL", "$.e_total"),
    **{f"has_{p}": ("INTEGER", f"$.has_props.{p}") for p in HAS_PROPS},
}
RECIPE_COLUMNS: dict[str, tuple[str, str]] = {
    "synthesis_type": ("TEXT", "$.synthesis_type"),
    "doi": ("TEXT", "$.doi"),
    "target_formula": ("TEXT", "$.target_formula"),
    "target_mp_id": ("TEXT", "$.target_mp_id"),
}


def _generated(columns: dict[str, tuple[str, str]]) -> str:
    return ",\n".join(
        f"  {name} {sql_type} GENERATED ALWAYS AS (json_extract(doc, '{path}')) STORED"
        for name, (sql_type, path) in columns.items()
    )


SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS materials (
  material_id TEXT PRIMARY KEY,
  doc TEXT NOT NULL,
{_generated(COLUMNS)}
);
{"".join(f"CREATE INDEX IF NOT EXISTS materials_{c} ON materials ({c});" for c in COLUMNS)}
CREATE TABLE IF NOT EXISTS synthesis (
  id INTEGER PRIMARY KEY,
  recipe_id TEXT NOT NULL UNIQUE,
  doc TEXT NOT NULL,
{_generated(RECIPE_COLUMNS)}
);
CREATE INDEX IF NOT EXISTS synthesis_target_mp_id ON synthesis (target_mp_id);
-- full text of recipes, rowid = synthesis.id
CREATE VIRTUAL TABLE IF NOT EXISTS synthesis_fts USING fts5(paragraph, text);
"""


class MaterialRecord(BaseModel):
    """One material as imported, with MP ``SummaryDoc`` field names; other fields are kept."""

    model_config = ConfigDict(extra="allow")

    material_id: str = Field(pattern=r"^[a-z]+-[A-Za-z0-9]+$", description="MP id, e.g. mp-149.")
    formula_pretty: str = Field(description="Reduced formula, e.g. Fe2O3.")
    formula_anonymous: str | None = Field(None, description="Anonymous formula, e.g. A2B3.")
    chemsys: str = Field(description="Dash-joined sorted elements, e.g. Fe-O.")
    elements: list[str] = Field(description="Sorted element symbols.")
    nelements: int = Field(ge=1)
    nsites: int | None = Field(None, ge=1, description="Sites in the stored cell.")
    volume: float | None = Field(None, description="Cell volume (Å³).")
    density: float | None = Field(None, description="Density (g/cm³).")
    density_atomic: float | None = Field(None, description="Volume per atom (Å³/atom).")
    symmetry: dict[str, Any] | None = Field(
        None, description="crystal_system, symbol, number, point_group, symprec."
    )
    structure: dict[str, Any] | None = Field(None, description="pymatgen Structure.as_dict().")
    deprecated: bool | None = None
    theoretical: bool | None = None
    band_gap: float | None = Field(None, description="Band gap (eV).")
    cbm: float | None = Field(None, description="Conduction band minimum (eV).")
    vbm: float | None = Field(None, description="Valence band maximum (eV).")
    efermi: float | None = Field(None, description="Fermi energy (eV).")
    is_gap_direct: bool | None = None
    is_metal: bool | None = None
    energy_per_atom: float | None = Field(None, description="Corrected total energy (eV/atom).")
    uncorrected_energy_per_atom: float | None = Field(
        None, description="Uncorrected total energy (eV/atom)."
    )
    formation_energy_per_atom: float | None = Field(None, description="Formation energy (eV/atom).")
    energy_above_hull: float | None = Field(
        None, description="Energy above the convex hull (eV/atom)."
    )
    equilibrium_reaction_energy_per_atom: float | None = Field(None, description="eV/atom.")
    is_stable: bool | None = None
    bulk_modulus: dict[str, float] | None = Field(None, description="voigt/reuss/vrh (GPa).")
    shear_modulus: dict[str, float] | None = Field(None, description="voigt/reuss/vrh (GPa).")
    universal_anisotropy: float | None = None
    homogeneous_poisson: float | None = None
    e_total: float | None = Field(None, description="Total polycrystalline dielectric constant.")
    e_ionic: float | None = None
    e_electronic: float | None = None
    n: float | None = Field(None, description="Refractive index.")
    ordering: str | None = Field(None, description="Magnetic ordering: NM, FM, AFM, FiM.")
    is_magnetic: bool | None = None
    total_magnetization: float | None = Field(None, description="μB per cell.")
    total_magnetization_normalized_vol: float | None = Field(None, description="μB/Å³.")
    total_magnetization_normalized_formula_units: float | None = Field(
        None, description="μB per formula unit."
    )
    num_magnetic_sites: int | None = None
    num_unique_magnetic_sites: int | None = None
    types_of_magnetic_species: list[str] | None = None


class OperationRecord(BaseModel):
    """One recipe step; ``conditions`` is compact text: ``T=700 C; t=10 h; atmosphere=argon``."""

    type: str
    token: str
    conditions: str = ""


class RecipeRecord(BaseModel):
    """One text-mined synthesis recipe (schema of ``synthesis_recipes.jsonl.gz``)."""

    recipe_id: str = Field(min_length=1)
    synthesis_type: Literal["solid-state", "sol-gel"]
    doi: str | None = None
    target_formula: str
    target_mp_id: str | None = None
    targets_string: list[str] = []
    precursors_formula: list[str] = []
    reaction_string: str | None = None
    operations: list[OperationRecord] = []
    paragraph_excerpt: str | None = None
    text: str | None = None


class SnapshotInfo(BaseModel):
    """What a snapshot holds."""

    path: str
    materials: int
    synthesis_recipes: int
    db_version: str | None = Field(
        description="Date of the last import (YYYY_MM_DD), sent in the heartbeat."
    )


class Snapshot:
    """One snapshot file; every call opens its own connection, so any thread may use it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @classmethod
    def ensure(cls, path: Path | str) -> Snapshot:
        """The snapshot at ``path``, built from the bundled sample if the file does not exist."""
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            partial.unlink(missing_ok=True)
            staged = cls(partial)
            staged.import_materials(SAMPLE_MATERIALS, progress=False)
            staged.import_synthesis(SAMPLE_SYNTHESIS, progress=False)
            with closing(staged.connect()) as conn:
                conn.execute("PRAGMA journal_mode=DELETE")  # fold the WAL in before the rename
            os.replace(partial, path)
        return cls(path)

    def connect(self, *, readonly: bool = False) -> sqlite3.Connection:
        """A new connection; writable ones create the schema (WAL) on first use."""
        if readonly:
            if not self.path.exists():
                raise InvalidInput(
                    f"MP snapshot {self.path} does not exist; run `matlas mp import` first"
                )
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            return sqlite3.connect(uri, uri=True, check_same_thread=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(SCHEMA)
        return conn

    def import_materials(self, source: Path | str, *, progress: bool = True) -> int:
        """Upsert every material of a JSONL(.gz) file in one transaction; returns the count."""
        records = (_validated(MaterialRecord, where, data) for where, data in _read_jsonl(source))
        return self.upsert_materials(
            tqdm(records, desc="materials", unit=" docs", disable=not progress)
        )

    def upsert_materials(self, records: Iterable[MaterialRecord]) -> int:
        """Insert or replace materials by ``material_id``, atomically; returns the count."""
        count = 0
        with self._transaction() as conn:
            for record in records:
                doc = record.model_dump(exclude_none=True)
                doc["has_props"] = has_props(doc)
                conn.execute(
                    "INSERT INTO materials (material_id, doc) VALUES (?, ?) "
                    "ON CONFLICT (material_id) DO UPDATE SET doc = excluded.doc",
                    (record.material_id, json.dumps(doc)),
                )
                count += 1
        return count

    def import_synthesis(self, source: Path | str, *, progress: bool = True) -> int:
        """Upsert every recipe of a JSONL(.gz) file in one transaction (MP-shaped, full text)."""
        count = 0
        with self._transaction() as conn:
            rows = tqdm(_read_jsonl(source), desc="recipes", unit=" docs", disable=not progress)
            for where, data in rows:
                recipe = _validated(RecipeRecord, where, data)
                try:
                    doc = recipe_doc(recipe.model_dump())
                except ValueError as err:
                    raise InvalidInput(f"{where}: {err}") from None
                [(row_id,)] = conn.execute(
                    "INSERT INTO synthesis (recipe_id, doc) VALUES (?, ?) "
                    "ON CONFLICT (recipe_id) DO UPDATE SET doc = excluded.doc RETURNING id",
                    (recipe.recipe_id, json.dumps(doc)),
                ).fetchall()
                conn.execute("DELETE FROM synthesis_fts WHERE rowid = ?", (row_id,))
                conn.execute(
                    "INSERT INTO synthesis_fts (rowid, paragraph, text) VALUES (?, ?, ?)",
                    (row_id, doc.get("paragraph_string") or "", recipe.text or ""),
                )
                count += 1
        return count

    def synthesis_corpus(self) -> Iterator[Document]:
        """The recipes as BEIR documents (``_id`` recipe id, title target and route, text the recipe)
        for ``matlas index build``, so the retrieval expert can search them by meaning."""
        with closing(self.connect(readonly=True)) as conn:
            rows = conn.execute(
                "SELECT s.recipe_id, s.doc, f.text FROM synthesis s "
                "JOIN synthesis_fts f ON f.rowid = s.id ORDER BY s.id"
            )
            for recipe_id, doc, text in rows:
                doc = json.loads(doc)
                target = doc["target"]["material_formula"]
                steps = "; ".join(f"{op['type']} ({op['token']})" for op in doc.get("operations") or [])
                yield Document(
                    id=recipe_id, title=f"{target} by {doc['synthesis_type']} synthesis",
                    text=text or " ".join(filter(None, [doc.get("reaction_string"), steps])),
                    metadata={"doi": doc.get("doi"), "target_mp_id": doc.get("target_mp_id"),
                              "kind": "synthesis recipe"},
                )

    def info(self) -> SnapshotInfo:
        """Counts and version of the snapshot."""
        with closing(self.connect(readonly=True)) as conn:
            materials = conn.execute("SELECT count(*) FROM materials").fetchone()[0]
            recipes = conn.execute("SELECT count(*) FROM synthesis").fetchone()[0]
            version = conn.execute("SELECT value FROM meta WHERE key = 'db_version'").fetchone()
        return SnapshotInfo(
            path=str(self.path),
            materials=materials,
            synthesis_recipes=recipes,
            db_version=version[0] if version else None,
        )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with closing(self.connect()) as conn, conn:
            yield conn
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('db_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (datetime.now(UTC).strftime("%Y_%m_%d"),),
            )


def _read_jsonl(source: Path | str) -> Iterator[tuple[str, dict]]:
    """``(file:line, object)`` for each non-blank line of a JSONL or JSONL.gz file."""
    source = Path(source)
    if not source.is_file():
        raise InvalidInput(f"no such file: {source}")
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{source}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as err:
                raise InvalidInput(f"{where}: not valid JSON ({err.msg})") from None
            if not isinstance(data, dict):
                raise InvalidInput(f"{where}: expected a JSON object, got {type(data).__name__}")
            yield where, data


def _validated(model: type[M], where: str, data: dict) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "record"
        raise InvalidInput(f"{where}: {field}: {first['msg']}") from None
