"""Phase-diagram tool: the convex hull of a chemical system, built with pymatgen from MP entries.

The tool gets the one MP client of the process (``agents.mp.client.MPClient``) injected; the
entries come over MP's REST protocol (live MP, or a snapshot with imported entries).
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from agents.mp.client import MPClient
from agents.mp.phase_diagram import phase_diagram
from agents.tools._common import make_tool, rounded

__all__ = ["phase_diagram_tools"]


class _GetPhaseDiagram(BaseModel):
    chemsys: str = Field(
        description="Chemical system: element symbols joined by '-', e.g. Li-Fe-O.",
        json_schema_extra={"pattern": r"^[A-Z][a-z]?(-[A-Z][a-z]?)*$"},
    )
    max_unstable: int = Field(10, ge=0, le=50, description="List at most this many phases above the hull.")


def phase_diagram_tools(mp: MPClient) -> list[BaseTool]:
    """The phase-diagram tool on the injected MP client."""
    client = mp

    def get_phase_diagram(args: _GetPhaseDiagram) -> dict[str, Any]:
        result = phase_diagram(client, args.chemsys, max_unstable=args.max_unstable).model_dump()
        if result["source"].get("sample"):
            result["note"] = "illustrative sample data, not Materials Project values"
        return rounded(result)

    return [make_tool(
        get_phase_diagram, name="get_phase_diagram", args_schema=_GetPhaseDiagram,
        description="Phase diagram (convex hull) of a chemical system from MP computed entries: the stable "
        "phases with formation energies (eV/atom), and the unstable ones with energy above the hull "
        "(eV/atom) and the phases they decompose to, each with its MP id.",
    )]
