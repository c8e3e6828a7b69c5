"""Electronic expert: band gaps from MP's electronic structure endpoint, dielectric constants."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool

from agents.artifacts import ArtifactStore
from agents.mp.client import MPClient
from agents.tools._common import make_tool
from agents.tools._mp import MaterialQuery, for_materials, stash_arrays

__all__ = ["electronic_tools"]

BAND_FIELDS = ["material_id", "formula_pretty", "band_gap", "is_gap_direct", "is_metal", "cbm", "vbm", "efermi",
               "magnetic_ordering"]
DIELECTRIC_FIELDS = ["material_id", "formula_pretty", "e_total", "e_ionic", "e_electronic", "n", "total"]


def electronic_tools(mp: MPClient, artifacts: ArtifactStore) -> list[BaseTool]:
    """The electronic expert's tools; dielectric tensors are stored in ``artifacts`` and returned as handles."""

    def get_band_structure_summary(args: MaterialQuery) -> dict[str, Any]:
        return for_materials(mp, args, "electronic_structure", fields=BAND_FIELDS, what="electronic structure document")

    def get_dielectric(args: MaterialQuery) -> dict[str, Any]:
        out = for_materials(mp, args, "dielectric", fields=DIELECTRIC_FIELDS, what="dielectric document")
        stash_arrays(out["results"], artifacts, "total", {"quantity": "total dielectric tensor", "units": "ε0"},
                     key="total_tensor")
        return out

    return [
        make_tool(get_band_structure_summary, name="get_band_structure_summary", args_schema=MaterialQuery,
                  description="Electronic structure of materials by MP ids or formulas: band gap (eV, PBE), direct "
                  "or indirect gap, metallicity, band edges (CBM, VBM) and Fermi energy (eV)."),
        make_tool(get_dielectric, name="get_dielectric", args_schema=MaterialQuery,
                  description="Dielectric properties of materials by MP ids or formulas: total, ionic and electronic "
                  "polycrystalline dielectric constants and refractive index; the total tensor as a handle."),
    ]
