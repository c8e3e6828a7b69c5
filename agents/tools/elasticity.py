"""Elasticity expert: moduli from MP's elasticity endpoint; elastic tensors go to the artifact store."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool

from agents.artifacts import ArtifactStore
from agents.mp.client import MPClient
from agents.tools._common import make_tool, rounded, with_units
from agents.tools._mp import MaterialQuery, for_materials, stash_arrays

__all__ = ["elasticity_tools"]

FIELDS = [
    "material_id", "formula_pretty", "bulk_modulus", "shear_modulus", "youngs_modulus", "homogeneous_poisson",
    "universal_anisotropy", "debye_temperature", "elastic_tensor",
]


def elasticity_tools(mp: MPClient, artifacts: ArtifactStore) -> list[BaseTool]:
    """The elasticity expert's tools; tensors are stored in ``artifacts`` and returned as handles."""

    def get_elasticity(args: MaterialQuery) -> dict[str, Any]:
        out = for_materials(mp, args, "elasticity", fields=FIELDS, what="elasticity document")
        records = out["results"]
        for record in records:
            if (young := record.get("youngs_modulus")) is not None and young > 1e6:  # MP gives it in Pa
                record["youngs_modulus"] = rounded(young / 1e9)
        stash_arrays(records, artifacts, "elastic_tensor",
                     {"quantity": "elastic tensor", "units": "GPa", "format": "6x6 Voigt"},
                     extract=lambda tensor: (tensor or {}).get("ieee_format") or (tensor or {}).get("raw"))
        return with_units(out)

    return [make_tool(
        get_elasticity, name="get_elasticity", args_schema=MaterialQuery,
        description="Elastic properties of materials by MP ids or formulas: bulk and shear moduli (Voigt, Reuss, "
        "VRH; GPa), Young's modulus, Poisson ratio, universal anisotropy; the elastic tensor as an artifact handle.",
    )]
