"""Thermo expert: formation energies, energy above the hull and stability from MP's thermo endpoint."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool
from pydantic import Field

from agents.tools._common import make_tool
from agents.tools._mp import MaterialQuery, mp_search, results
from matlas.settings import Settings

__all__ = ["thermo_tools"]

FIELDS = [
    "material_id", "formula_pretty", "thermo_type", "formation_energy_per_atom", "energy_above_hull", "is_stable",
    "energy_per_atom", "equilibrium_reaction_energy_per_atom", "decomposes_to",
]


class _GetThermo(MaterialQuery):
    is_stable: bool | None = Field(None, description="Only materials on (true) or above (false) the convex hull.")


def thermo_tools(settings: Settings) -> list[BaseTool]:
    """The thermo expert's tools."""

    def get_thermo(args: _GetThermo) -> dict[str, Any]:
        criteria = args.criteria() | {"is_stable": args.is_stable}
        records, more = mp_search(settings, "thermo", fields=FIELDS, limit=args.limit, **criteria)
        return results([_compact(r) for r in records], more, "thermo document", criteria)

    return [make_tool(
        get_thermo, name="get_thermo", args_schema=_GetThermo,
        description="Thermodynamic data of materials by MP ids or formulas: formation energy per atom and energy "
        "above the convex hull (eV/atom), stability, total energy, and the phases an unstable one decomposes to.",
    )]


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    """A thermo record with ``decomposes_to`` cut to ids, formulas and amounts."""
    if record.get("decomposes_to"):
        record["decomposes_to"] = [
            {k: d.get(k) for k in ("material_id", "formula", "amount")} for d in record["decomposes_to"]
        ]
    return record
