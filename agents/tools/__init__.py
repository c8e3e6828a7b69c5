"""Typed tools of the Materials Project experts, built per chat session.

``expert_tools(mp, artifacts)`` maps each expert to its LangChain tools over one shared ``MPClient``.
Every tool takes typed arguments (lists of ids and formulas, numeric ranges, enums), returns compact
JSON citing ``material_id``s (or recipe and document ids) with the unit of every property, keeps
structures and tensors in the session's ``ArtifactStore`` behind handles, and answers bad input,
empty results and MP outages with an observation the model can act on. Other exceptions are bugs:
they reach the turn's error boundary.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

from agents.artifacts import ArtifactStore
from agents.mp.client import MPClient
from agents.tools.elasticity import elasticity_tools
from agents.tools.electronic import electronic_tools
from agents.tools.magnetism import magnetism_tools
from agents.tools.phase_diagram import phase_diagram_tools
from agents.tools.retrieval import retrieval_tools
from agents.tools.structure import structure_tools
from agents.tools.summary import summary_tools
from agents.tools.synthesis import synthesis_tools
from agents.tools.thermo import thermo_tools
from retrieval.service import SearchService

__all__ = ["EXPERTS", "MPClient", "expert_tools"]

EXPERTS = ("summary", "thermo", "elasticity", "electronic", "magnetism", "synthesis", "structure", "retrieval")


def expert_tools(
    mp: MPClient, artifacts: ArtifactStore, *, search: SearchService | None = None, default_index: str = "materials"
) -> dict[str, list[BaseTool]]:
    """Expert name -> its tools, on ``mp``, one session's ``artifacts`` and ``search`` (no retrieval without it)."""
    return {
        "summary": summary_tools(mp),
        "thermo": [*thermo_tools(mp), *phase_diagram_tools(mp)],
        "elasticity": elasticity_tools(mp, artifacts),
        "electronic": electronic_tools(mp, artifacts),
        "magnetism": magnetism_tools(mp, artifacts),
        "synthesis": synthesis_tools(mp),
        "structure": structure_tools(mp, artifacts),
        "retrieval": retrieval_tools(search, default_index) if search is not None else [],
    }
