"""Elasticity expert: moduli from MP's elasticity endpoint; elastic tensors go to the artifact store."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool

from agents.artifacts import ArtifactStore
from agents.tools._common import make_tool
from agents.tools._mp import MaterialQuery, material_ids_for, mp_search, results, stash_arrays
from matlas.settings import Settings

__all__ = ["elasticity_tools"]

FIELDS = [
    "material_id", "formula_pretty", "bulk_modulus", "shear_modulus", "youngs_modulus", "homogeneous_poisson",
    "universal_anisotropy", "debye_temperature", "elastic_tensor",
]


def elasticity_tools(settings: Settings, artifacts: ArtifactStore) -> list[BaseTool]:
    """The elasticity expert's tools; tensors are stored in ``artifacts`` and returned as handles."""

    def get_elasticity(args: MaterialQuery) -> dict[str, Any]:
        ids = material_ids_for(settings, args)
        records, more = mp_search(settings, "elasticity", fields=FIELDS, limit=args.limit, material_ids=ids)
        stash_arrays(records, artifacts, "elastic_tensor",
                     {"quantity": "elastic tensor", "units": "GPa", "format": "6x6 Voigt"},
                     extract=lambda tensor: (tensor or {}).get("ieee_format") or (tensor or {}).get("raw"))
        return results(records, more, "elasticity document", args.criteria())

    return [make_tool(
        get_elasticity, name="get_elasticity", args_schema=MaterialQuery,
        description="Elastic properties of materials by MP ids or formulas: bulk and shear moduli (Voigt, Reuss, "
        "VRH; GPa), Young's modulus, Poisson ratio, universal anisotropy; the elastic tensor as an artifact handle.",
    )]
