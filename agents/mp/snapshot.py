"""The MP snapshot: one SQLite file (WAL) of MP-summary-like materials and synthesis recipes.

Each row keeps the whole document as JSON; the scalar columns that searches filter and sort on
are generated from it (``STORED``, indexed), so the JSON stays the one source of truth.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tqdm.auto import tqdm

from agents.mp.documents import HAS_PROPS, has_props, recipe_doc
from agents.mp.entries import THERMO_FIELDS, read_entries, thermo_records
from matlas.errors import InvalidInput
from retrieval.corpus import Document

__all__ = [
    "COLUMNS",
    "DEFAULT_MATERIALS",
    "DEFAULT_PROVENANCE",
    "MaterialRecord",
    "Provenance",
    "RecipeRecord",
    "Snapshot",
    "SnapshotInfo",
]

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger(__name__)

DEFAULT_MATERIALS = Path(__file__).parent / "data" / "materials.jsonl.gz"
"""Real MP data (5,232 materials, CC BY 4.0; see ``data/NOTICE.md``), imported on first start."""
DEFAULT_PROVENANCE = Path(__file__).parent / "data" / "provenance.json"

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


class Provenance(BaseModel):
    """Where an import's data comes from; ``sample`` marks illustrative, not MP, values."""

    name: str = Field(description="What was imported, e.g. 'Materials Project subset'.")
    sample: bool = Field(False, description="True for illustrative test data, not MP values.")
    license: str | None = None
    attribution: str | None = None
    sources: list[str] = []

    @classmethod
    def read(cls, path: Path | str) -> Provenance:
        """A provenance JSON file."""
        try:
            return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValidationError) as err:
            raise InvalidInput(f"cannot read provenance {path}: {err}") from None


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
    decomposes_to: list[dict[str, Any]] | None = Field(
        None, description="Hull decomposition products: material_id, formula, amount."
    )
    entries: dict[str, dict[str, Any]] | None = Field(
        None, description="ComputedStructureEntry dicts by run type (GGA, GGA+U), as MP thermo."
    )


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
    entries: int = Field(0, description="Materials whose thermo documents carry entries.")
    provenance: list[Provenance] = Field([], description="What was imported, newest last.")

    @property
    def sample(self) -> bool:
        """Whether any import was illustrative sample data."""
        return any(p.sample for p in self.provenance)


class Snapshot:
    """One snapshot file; every call opens its own connection, so any thread may use it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @classmethod
    def ensure(
        cls,
        path: Path | str,
        *,
        materials: Path = DEFAULT_MATERIALS,
        synthesis: Path | None = None,
        provenance: Path = DEFAULT_PROVENANCE,
        progress: bool = False,
    ) -> Snapshot:
        """The snapshot at ``path``; if the file does not exist, built first from ``materials``
        (default: the packaged real MP data) and ``synthesis``, then renamed into place."""
        path = Path(path)
        if not path.exists():
            start = time.perf_counter()
            log.info("first start: importing %s into %s", materials.name, path)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            partial.unlink(missing_ok=True)
            staged = cls(partial)
            staged.import_materials(materials, provenance=Provenance.read(provenance), progress=progress)
            if synthesis is not None:
                staged.import_synthesis(synthesis, progress=progress)
            with closing(staged.connect()) as conn:
                conn.execute("PRAGMA journal_mode=DELETE")  # fold the WAL in before the rename
            os.replace(partial, path)
            log.info("MP snapshot %s ready in %.1f s", path, time.perf_counter() - start)
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

    def import_materials(
        self, source: Path | str, *, provenance: Provenance | None = None, progress: bool = True
    ) -> int:
        """Upsert every material of a JSONL(.gz) file in one transaction; returns the count."""
        records = (_validated(MaterialRecord, where, data) for where, data in _read_jsonl(source))
        provenance = provenance or Provenance(name=Path(source).name)
        return self.upsert_materials(
            tqdm(records, desc="materials", unit=" docs", disable=not progress), provenance
        )

    def import_entries(self, source: Path | str, *, progress: bool = True) -> int:
        """Thermo with ``entries`` from a ComputedStructureEntry JSON(.gz) list (``entries.py``):
        materials the snapshot has gain the entries and the thermo fields they lack; the others
        are added. One transaction; returns how many materials carry entries from ``source``."""
        records = thermo_records(read_entries(source))
        with self._transaction(Provenance(name=Path(source).name)) as conn:
            for record in tqdm(records, desc="entries", unit=" materials", disable=not progress):
                row = conn.execute(
                    "SELECT doc FROM materials WHERE material_id = ?", (record["material_id"],)
                ).fetchone()
                if row is not None:
                    known = json.loads(row[0])
                    record = known | {
                        k: v for k, v in record.items()
                        if k == "entries" or (k in THERMO_FIELDS and known.get(k) is None)
                    }
                self._put(conn, MaterialRecord.model_validate(record))
        return len(records)

    def upsert_materials(
        self, records: Iterable[MaterialRecord], provenance: Provenance | None = None
    ) -> int:
        """Insert or replace materials by ``material_id``, atomically; returns the count."""
        count = 0
        with self._transaction(provenance) as conn:
            for record in records:
                self._put(conn, record)
                count += 1
        return count

    @staticmethod
    def _put(conn: sqlite3.Connection, record: MaterialRecord) -> None:
        doc = record.model_dump(exclude_none=True)
        doc["has_props"] = has_props(doc)
        conn.execute(
            "INSERT INTO materials (material_id, doc) VALUES (?, ?) "
            "ON CONFLICT (material_id) DO UPDATE SET doc = excluded.doc",
            (record.material_id, json.dumps(doc)),
        )

    def import_synthesis(self, source: Path | str, *, progress: bool = True) -> int:
        """Upsert every recipe of a JSONL(.gz) file in one transaction (MP-shaped, full text)."""
        count = 0
        with self._transaction(Provenance(name=Path(source).name)) as conn:
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
            entries = conn.execute(
                "SELECT count(*) FROM materials WHERE json_type(doc, '$.entries') = 'object'"
            ).fetchone()[0]
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        return SnapshotInfo(
            path=str(self.path),
            materials=materials,
            synthesis_recipes=recipes,
            db_version=meta.get("db_version"),
            entries=entries,
            provenance=json.loads(meta.get("provenance", "[]")),
        )

    @contextmanager
    def _transaction(self, provenance: Provenance | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction; it stamps the import date and records ``provenance`` (one per
        name, the newest kept)."""
        with closing(self.connect()) as conn, conn:
            yield conn
            _set_meta(conn, "db_version", datetime.now(UTC).strftime("%Y_%m_%d"))
            if provenance is not None:
                row = conn.execute("SELECT value FROM meta WHERE key = 'provenance'").fetchone()
                known = [p for p in json.loads(row[0] if row else "[]") if p["name"] != provenance.name]
                _set_meta(conn, "provenance", json.dumps([*known, provenance.model_dump()]))


def _set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
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
