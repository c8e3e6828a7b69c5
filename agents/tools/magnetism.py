"""Magnetism expert: ordering and magnetization from MP's magnetism endpoint."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool

from agents.artifacts import ArtifactStore
from agents.mp.client import MPClient
from agents.tools._common import make_tool
from agents.tools._mp import MaterialQuery, for_materials, stash_arrays

__all__ = ["magnetism_tools"]

FIELDS = [
    "material_id", "formula_pretty", "ordering", "is_magnetic", "total_magnetization",
    "total_magnetization_normalized_formula_units", "total_magnetization_normalized_vol", "num_magnetic_sites",
    "num_unique_magnetic_sites", "types_of_magnetic_species", "magmoms",
]


def magnetism_tools(mp: MPClient, artifacts: ArtifactStore) -> list[BaseTool]:
    """The magnetism expert's tools; per-site moments are stored in ``artifacts`` and returned as handles."""

    def get_magnetism(args: MaterialQuery) -> dict[str, Any]:
        out = for_materials(mp, args, "magnetism", fields=FIELDS, what="magnetism document")
        stash_arrays(out["results"], artifacts, "magmoms", {"quantity": "site magnetic moments", "units": "μB"})
        return out

    return [make_tool(
        get_magnetism, name="get_magnetism", args_schema=MaterialQuery,
        description="Magnetic properties of materials by MP ids or formulas: ordering (NM, FM, AFM, FiM), total "
        "magnetization (μB per cell, per formula unit, per Å³), magnetic sites and species; site moments as a "
        "handle.",
    )]
