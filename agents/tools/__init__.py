"""Typed tools of the Materials Project experts, built per chat session.

``expert_tools(settings, artifacts)`` maps each expert to its LangChain tools. Every tool takes
typed arguments (lists of ids and formulas, numeric ranges, enums), returns compact JSON citing
``material_id``s (or recipe and document ids), keeps structures and tensors in the session's
``ArtifactStore`` behind handles, and answers bad input or empty results with an observation the
model can act on instead of raising.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

from agents.artifacts import ArtifactStore
from agents.tools.elasticity import elasticity_tools
from agents.tools.electronic import electronic_tools
from agents.tools.magnetism import magnetism_tools
from agents.tools.retrieval import retrieval_tools
from agents.tools.structure import structure_tools
from agents.tools.summary import summary_tools
from agents.tools.synthesis import synthesis_tools
from agents.tools.thermo import thermo_tools
from matlas.settings import Settings
from retrieval.service import SearchService

__all__ = ["EXPERTS", "expert_tools"]

EXPERTS = ("summary", "thermo", "elasticity", "electronic", "magnetism", "synthesis", "structure", "retrieval")


def expert_tools(
    settings: Settings, artifacts: ArtifactStore, *, search: SearchService | None = None
) -> dict[str, list[BaseTool]]:
    """Expert name -> its tools, on MP per ``settings``, one session's ``artifacts`` and ``search`` (optional)."""
    return {
        "summary": summary_tools(settings),
        "thermo": thermo_tools(settings),
        "elasticity": elasticity_tools(settings, artifacts),
        "electronic": electronic_tools(settings, artifacts),
        "magnetism": magnetism_tools(settings, artifacts),
        "synthesis": synthesis_tools(settings),
        "structure": structure_tools(settings, artifacts),
        "retrieval": retrieval_tools(settings, search),
    }
