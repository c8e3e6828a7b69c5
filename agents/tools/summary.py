"""Summary expert: search MP's summary endpoint by composition, ids and property ranges."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field, model_validator

from agents.mp.client import MPClient
from agents.tools._common import make_tool
from agents.tools._mp import (
    Chemsys,
    ElementSymbol,
    Formula,
    Limit,
    MaterialId,
    MaterialQuery,
    for_materials,
    mp_search,
    results,
)

__all__ = ["summary_tools"]

SummaryField = Literal[
    "formula_pretty", "chemsys", "nsites", "volume", "density", "symmetry", "band_gap", "is_gap_direct",
    "is_metal", "formation_energy_per_atom", "energy_above_hull", "is_stable", "bulk_modulus", "shear_modulus",
    "ordering", "total_magnetization", "e_total", "n", "theoretical",
]
SortField = Literal["energy_above_hull", "formation_energy_per_atom", "band_gap", "density", "volume", "nsites"]
CrystalSystem = Literal["Triclinic", "Monoclinic", "Orthorhombic", "Tetragonal", "Trigonal", "Hexagonal", "Cubic"]
DEFAULT_FIELDS: list[SummaryField] = [
    "formula_pretty", "symmetry", "band_gap", "formation_energy_per_atom", "energy_above_hull", "is_stable", "density",
]
_RANGES = ("band_gap", "formation_energy", "energy_above_hull", "density", "k_vrh")


class _SearchMaterials(BaseModel):
    material_ids: list[MaterialId] | None = Field(None, max_length=50, description="MP ids, e.g. [\"mp-149\"].")
    formula: list[Formula] | None = Field(None, max_length=20, description="Formulas, e.g. [\"GaN\", \"Fe2O3\"].")
    chemsys: list[Chemsys] | None = Field(None, max_length=20, description="Chemical systems, e.g. [\"Li-Fe-O\"].")
    elements: list[ElementSymbol] | None = Field(None, max_length=10, description="Elements every match contains.")
    exclude_elements: list[ElementSymbol] | None = Field(None, max_length=10, description="Elements no match contains.")
    crystal_system: CrystalSystem | None = None
    spacegroup_number: int | None = Field(None, ge=1, le=230)
    spacegroup_symbol: str | None = Field(None, max_length=20, description="Hermann-Mauguin symbol as MP writes it, e.g. P4_2/mnm.")
    is_stable: bool | None = Field(None, description="Only materials on (true) or above (false) the convex hull.")
    is_metal: bool | None = None
    band_gap_min: float | None = Field(None, ge=0, description="eV.")
    band_gap_max: float | None = Field(None, ge=0, description="eV.")
    formation_energy_min: float | None = Field(None, description="Formation energy per atom, eV/atom.")
    formation_energy_max: float | None = Field(None, description="Formation energy per atom, eV/atom.")
    energy_above_hull_min: float | None = Field(None, ge=0, description="eV/atom.")
    energy_above_hull_max: float | None = Field(None, ge=0, description="eV/atom.")
    density_min: float | None = Field(None, ge=0, description="g/cm³.")
    density_max: float | None = Field(None, ge=0, description="g/cm³.")
    k_vrh_min: float | None = Field(None, description="Bulk modulus (VRH), GPa.")
    k_vrh_max: float | None = Field(None, description="Bulk modulus (VRH), GPa.")
    fields: list[SummaryField] = Field(DEFAULT_FIELDS, min_length=1, description="Properties to return.")
    sort_by: SortField | None = Field(None, description="Property to sort on (ascending unless descending).")
    descending: bool = False
    limit: Limit = 10

    @model_validator(mode="after")
    def _ranges_ordered(self) -> _SearchMaterials:
        for name in _RANGES:
            low, high = getattr(self, f"{name}_min"), getattr(self, f"{name}_max")
            if low is not None and high is not None and low > high:
                raise ValueError(f"{name}_min={low} is above {name}_max={high}")
        return self

    def criteria(self) -> dict[str, Any]:
        """The mp-api ``summary.search`` arguments of this query (ranges as (min, max) pairs)."""
        criteria = self.model_dump(
            include={"material_ids", "formula", "chemsys", "elements", "exclude_elements", "crystal_system",
                     "spacegroup_number", "spacegroup_symbol", "is_stable", "is_metal"},
            exclude_none=True,
        )
        for name in _RANGES:
            low, high = getattr(self, f"{name}_min"), getattr(self, f"{name}_max")
            if low is not None or high is not None:
                criteria[name] = (low, high)
        if self.sort_by:
            criteria["_sort_fields"] = ("-" if self.descending else "") + self.sort_by
        return criteria


PROPERTY_FIELDS = ["material_id", "formula_pretty", "symmetry", "energy_above_hull", "is_stable", "band_gap",
                   "formation_energy_per_atom", "density", "volume", "nsites", "bulk_modulus", "shear_modulus"]


def summary_tools(mp: MPClient) -> list[BaseTool]:
    """The summary expert's tools."""

    def get_properties(args: MaterialQuery) -> dict[str, Any]:
        out = for_materials(mp, args, "summary", fields=PROPERTY_FIELDS, what="summary document")
        out["results"] = [_compact(r) for r in out["results"]]
        return out

    def search_materials(args: _SearchMaterials) -> dict[str, Any]:
        criteria = args.criteria()
        fields = ["material_id", *dict.fromkeys(args.fields)]
        records, more = mp_search(mp, "summary", fields=fields, limit=args.limit, **criteria)
        return results([_compact(r) for r in records], more, "material", criteria)

    return [make_tool(
        get_properties, name="get_properties", args_schema=MaterialQuery,
        description="Key properties of materials by MP ids or formulas (the ground-state polymorph of a formula "
        "unless all_polymorphs or a space group is given): space group, energy above hull, stability, band gap, "
        "formation energy, density (g/cm³), cell volume (Å³), moduli.",
    ), make_tool(
        search_materials, name="search_materials", args_schema=_SearchMaterials,
        description="Search Materials Project materials by MP ids, formulas, chemical systems, elements, symmetry, "
        "stability and property ranges (band gap eV, formation energy and energy above hull eV/atom, density "
        "g/cm³, bulk modulus GPa); returns the chosen properties per material_id, optionally sorted.",
    )]


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    """A summary record with ``symmetry`` cut to symbol, number and crystal system."""
    if isinstance(record.get("symmetry"), dict):
        record["symmetry"] = {k: record["symmetry"].get(k) for k in ("symbol", "number", "crystal_system")}
    return record
