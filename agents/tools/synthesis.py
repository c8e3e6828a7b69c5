"""Synthesis expert: text-mined recipes from MP's synthesis endpoint, cut to what a recipe needs."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field, model_validator

from agents.mp.client import MPClient
from agents.tools._common import make_tool
from agents.tools._mp import Formula, Limit, results

__all__ = ["synthesis_tools"]

Operation = Literal[
    "StartingSynthesis", "MixingOperation", "ShapingOperation", "DryingOperation", "HeatingOperation",
    "QuenchingOperation",
]
SynthesisType = Literal["solid-state", "sol-gel"]
_CONDITIONS = {"heating_temperature": "temperature", "heating_time": "time"}


class _SearchSynthesis(BaseModel):
    target_formula: Formula | None = Field(None, description="Formula of the material made, e.g. LiFePO4.")
    precursor_formula: Formula | None = Field(None, description="Formula of a precursor used, e.g. Li2CO3.")
    keywords: list[str] | None = Field(
        None, max_length=5, description="Words the recipe text contains, e.g. [\"ball-milled\", \"argon\"]."
    )
    synthesis_type: list[SynthesisType] | None = None
    operations: list[Operation] | None = Field(None, description="Operation types every recipe has.")
    heating_temperature_min: float | None = Field(None, description="°C.")
    heating_temperature_max: float | None = Field(None, description="°C.")
    limit: Limit = 5

    @model_validator(mode="after")
    def _has_subject(self) -> _SearchSynthesis:
        if not (self.target_formula or self.precursor_formula or self.keywords):
            raise ValueError("give target_formula, precursor_formula or keywords")
        return self


def synthesis_tools(mp: MPClient) -> list[BaseTool]:
    """The synthesis expert's tools."""

    def search_synthesis(args: _SearchSynthesis) -> dict[str, Any]:
        criteria = args.model_dump(exclude={"limit", "heating_temperature_min", "heating_temperature_max"},
                                   exclude_none=True)
        docs = mp.search("synthesis", limit=args.limit + 1, **criteria,
                       condition_heating_temperature_min=args.heating_temperature_min,
                       condition_heating_temperature_max=args.heating_temperature_max)
        return results([recipe(d) for d in docs[: args.limit]], len(docs) > args.limit, "synthesis recipe", criteria)

    return [make_tool(
        search_synthesis, name="search_synthesis", args_schema=_SearchSynthesis,
        description="Find text-mined synthesis recipes by target or precursor formula, keywords, synthesis type, "
        "operations and heating temperature; returns per recipe its id, DOI, target, precursors, balanced "
        "reaction and operations with temperatures (°C), times (h) and atmospheres.",
    )]


def recipe(doc: dict[str, Any]) -> dict[str, Any]:
    """One MP synthesis document cut to id, DOI, target, precursors, reaction and operations."""
    target = doc.get("target") or {}
    out = {
        "recipe_id": doc.get("recipe_id"),
        "doi": doc.get("doi"),
        "synthesis_type": doc.get("synthesis_type"),
        "target": doc.get("target_formula") or target.get("material_formula"),
        "target_mp_id": doc.get("target_mp_id"),
        "precursors": doc.get("precursors_formula"),
        "reaction": doc.get("reaction_string"),
        "operations": [_operation(op) for op in doc.get("operations") or []],
    }
    return {k: v for k, v in out.items() if v}


def _operation(op: dict[str, Any]) -> dict[str, Any]:
    """``{"type", "token", conditions...}`` with temperatures and times as ``"700 C"``-like strings."""
    out: dict[str, Any] = {"type": op.get("type"), "token": op.get("token")}
    conditions = op.get("conditions") or {}
    for key, name in _CONDITIONS.items():
        if values := [f"{v:g} {c.get('units', '')}".strip()
                      for c in conditions.get(key) or [] for v in c.get("values") or []]:
            out[name] = values
    for key in ("heating_atmosphere", "mixing_device", "mixing_media"):
        if conditions.get(key):
            out[key.split("_", 1)[1]] = conditions[key]
    return out

