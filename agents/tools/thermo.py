"""Thermo expert: formation energies, energy above the hull and stability from MP's thermo endpoint.

MP computes a hull per thermo type (GGA/GGA+U, r2SCAN, and their mix); every material's figures come
from one type, the first of the client's ``thermo_types`` that MP has for it, named in ``thermo_type``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool
from pydantic import Field

from agents.mp.client import MPClient
from agents.tools._common import make_tool
from agents.tools._mp import MaterialQuery, for_materials, polymorphs, results

__all__ = ["thermo_tools"]

FIELDS = [
    "material_id", "formula_pretty", "thermo_type", "formation_energy_per_atom", "energy_above_hull", "is_stable",
    "energy_per_atom", "equilibrium_reaction_energy_per_atom", "decomposes_to",
]


class _GetThermo(MaterialQuery):
    is_stable: bool | None = Field(None, description="Only materials on (true) or above (false) the convex hull.")


def thermo_tools(mp: MPClient) -> list[BaseTool]:
    """The thermo expert's tools."""

    def get_thermo(args: _GetThermo) -> dict[str, Any]:
        if args.is_stable is not None:  # a search over every polymorph, not a lookup of the ground state
            ids = list(args.material_ids or []) + [
                p.material_id for group in (polymorphs(mp, args.formula) if args.formula else {}).values()
                for p in group]
            criteria = {"material_ids": ids or args.material_ids, "is_stable": args.is_stable}
            docs = mp.search("thermo", limit=len(ids) * len(mp.thermo_types) + 1, fields=FIELDS,
                             thermo_types=list(mp.thermo_types), **criteria)
            records = _one_type(docs, mp.thermo_types)
            return results([_compact(r) for r in records[: args.limit]], len(records) > args.limit, "thermo document",
                           args.criteria() | {"is_stable": args.is_stable})
        out = for_materials(mp, args, "thermo", fields=FIELDS, what="thermo document",
                            choose=lambda docs: _one_type(docs, mp.thermo_types), thermo_types=list(mp.thermo_types))
        out["results"] = [_compact(r) for r in out["results"]]
        return out

    return [make_tool(
        get_thermo, name="get_thermo", args_schema=_GetThermo,
        description="Thermodynamic data of materials by MP ids or formulas: formation energy per atom and energy "
        "above the convex hull (eV/atom), stability, total energy, and the phases an unstable one decomposes to.",
    )]


def _one_type(docs: list[dict[str, Any]], preference: tuple[str, ...]) -> list[dict[str, Any]]:
    """One thermo document per material: the first of ``preference`` that it has, in the documents' order."""
    rank = {t: i for i, t in enumerate(preference)}
    best: dict[str, dict[str, Any]] = {}
    for doc in docs:
        current = best.get(doc["material_id"])
        if current is None or rank.get(doc.get("thermo_type"), len(rank)) < rank.get(
                current.get("thermo_type"), len(rank)):
            best[doc["material_id"]] = doc
    return list(best.values())


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    """A thermo record with ``decomposes_to`` cut to ids, formulas and amounts."""
    if record.get("decomposes_to"):
        record["decomposes_to"] = [
            {k: d.get(k) for k in ("material_id", "formula", "amount")} for d in record["decomposes_to"]
        ]
    return record
