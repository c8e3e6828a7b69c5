"""Facts before words: the tool calls a linked question needs, run through the same typed tools the
experts use, and the values they return as ``Fact`` records (value, unit, MP id, polymorph, source).

``gather(linked, tools, emit)`` plans the calls from ``agents.linker``'s reading of the question,
invokes each tool (``emit`` reports ``tool_call`` / ``tool_result`` steps, as the experts' steps are
reported), and keeps every successful tool result for the grounding check. A tool error (unknown
formula, no polymorph in the asked space group, MP down) is an observation: it becomes a ``note``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from agents.linker import LinkedMaterial, LinkedQuestion
from agents.vocabulary import PROPERTIES, property_of

__all__ = ["ENDPOINTS", "Fact", "Facts", "gather"]

LINKER = "linker"  # the ``expert`` of the steps the linker takes
RANGE_LIMIT = 20
ENDPOINTS = {
    "get_band_structure_summary": "materials/electronic_structure", "get_thermo": "materials/thermo",
    "get_elasticity": "materials/elasticity", "get_magnetism": "materials/magnetism",
    "get_dielectric": "materials/dielectric", "get_properties": "materials/summary",
    "search_materials": "materials/summary", "search_synthesis": "materials/synthesis",
    "lattice_parameters": "materials/summary (structure)", "insert_interstitial": "materials/summary (structure)",
}
_RANGE_ARGS = {"band_gap": "band_gap", "formation_energy_per_atom": "formation_energy",
               "energy_above_hull": "energy_above_hull", "density": "density", "bulk_modulus": "k_vrh"}

Emit = Callable[[dict[str, Any]], None]


class Fact(BaseModel):
    """One value a tool returned for one material."""

    material_id: str
    formula: str
    property: str = Field(description="Property key (agents.vocabulary).")
    value: Any = Field(description="Number, or text (space group, reaction...).")
    unit: str = ""
    space_group: str | None = None
    polymorph: dict[str, Any] | None = Field(None, description="Ground state or not, and how many other polymorphs.")
    tool: str
    endpoint: str
    asked: bool = Field(True, description="The question asks for this value (the answer must state it).")


class Facts(BaseModel):
    """What the linker's tool calls found for a question."""

    linked: LinkedQuestion
    facts: list[Fact] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="Tool observations: not found, no such polymorph...")
    records: list[dict[str, Any]] = Field(default_factory=list, description="Range and synthesis records as returned.")
    outputs: list[str] = Field(default_factory=list, description="Every successful tool result (for grounding).")

    @property
    def answered(self) -> bool:
        """Whether the facts settle the question (values found, or a clear 'not in MP')."""
        return self.linked.linked and bool(self.facts or self.records or self.notes)


def gather(linked: LinkedQuestion, tools: dict[str, BaseTool], emit: Emit) -> Facts:
    """Run the tool calls ``linked`` needs; see the module docstring."""
    out = Facts(linked=linked)
    if not linked.linked:
        return out
    run = _Runner(tools, emit, out)
    if linked.intent == "range":
        _range(linked, run, out)
    elif linked.intent == "synthesis":
        for m in [m for m in linked.materials if m.formula][:2]:
            if (data := run("search_synthesis", {"target_formula": m.formula, "limit": 3})) is not None:
                out.records.extend(data["results"])
    elif linked.intent == "strain":
        _strain(linked, run, out)
    else:
        for material in [m for m in linked.materials if m.kind != "chemsys"][:6]:
            _lookup(material, linked.properties, run, out)
    return out


class _Runner:
    """Invokes tools, reporting each step; errors become notes, results go to ``outputs``."""

    def __init__(self, tools: dict[str, BaseTool], emit: Emit, facts: Facts) -> None:
        self.tools, self.emit, self.facts = tools, emit, facts

    def __call__(self, name: str, args: dict[str, Any]) -> dict[str, Any] | None:
        if name not in self.tools:
            self.facts.notes.append(f"{name} is not available in this deployment")
            return None
        self.emit({"event": "tool_call", "data": {"expert": LINKER, "tool": name, "args": args}})
        content = str(self.tools[name].invoke(args))
        self.emit({"event": "tool_result", "data": {"expert": LINKER, "tool": name, "content": content}})
        try:
            data = json.loads(content)
        except ValueError:
            self.facts.notes.append(content)
            return None
        self.facts.outputs.append(content)
        return data


def _selector(material: LinkedMaterial) -> dict[str, Any]:
    if material.material_id:
        return {"material_ids": [material.material_id]}
    selector: dict[str, Any] = {"formula": [material.formula]}
    if material.spacegroup is not None:
        selector["spacegroup_number"] = material.spacegroup
    return selector


def _lookup(material: LinkedMaterial, keys: list[str], run: _Runner, out: Facts) -> None:
    """The asked properties of one material, one call per tool."""
    by_tool: dict[str, list[str]] = {}
    for key in keys:
        by_tool.setdefault(property_of(key).tool, []).append(key)
    if "lattice_parameters" in by_tool:  # needs an id: the ground state from the summary endpoint first
        by_tool.setdefault("get_properties", [])
    resolved: str | None = material.material_id
    for tool in sorted(by_tool, key=lambda t: t == "lattice_parameters"):
        if tool == "lattice_parameters":
            if resolved and (data := run(tool, {"structure": resolved})) is not None:
                _lattice(data, resolved, out)
            continue
        data = run(tool, _selector(material))
        if data is None:
            return  # the material is not in MP (or not in that space group): one note is enough
        records = data.get("results", [])
        resolved = resolved or (records[0].get("material_id") if records else None)
        found = [f for r in records for k in by_tool[tool] if (f := _fact(r, k, tool, data.get("units", {})))]
        out.facts.extend(found)
        for key in by_tool[tool]:
            if not any(f.property == key for f in found):
                ids = ", ".join(r.get("material_id", "?") for r in records)
                out.notes.append(f"Materials Project has no {property_of(key).label} for {material.text} ({ids}) "
                                 f"in {ENDPOINTS[tool]}")


def _fact(record: dict[str, Any], key: str, tool: str, units: dict[str, str]) -> Fact | None:
    prop = PROPERTIES[key]
    value = record.get(prop.field)
    if isinstance(value, dict):
        value = value.get("symbol") if key == "space_group" else value.get(prop.sub or "vrh")
    if value is None:
        return None
    polymorph = record.get("polymorph")
    space_group = (polymorph or {}).get("space_group") or (record.get("symmetry") or {}).get("symbol")
    return Fact(material_id=record["material_id"], formula=record.get("formula_pretty", ""), property=key, value=value,
                unit=units.get(prop.field, prop.unit), space_group=space_group, polymorph=polymorph, tool=tool,
                endpoint=ENDPOINTS.get(tool, tool))


def _lattice(data: dict[str, Any], material_id: str, out: Facts) -> None:
    for axis in ("a", "b", "c"):
        out.facts.append(Fact(material_id=material_id, formula=data.get("formula", ""), property="lattice_parameters",
                              value=data[axis], unit="Å", tool="lattice_parameters",
                              endpoint=ENDPOINTS["lattice_parameters"], space_group=None,
                              polymorph={"axis": axis}))


def _range(linked: LinkedQuestion, run: _Runner, out: Facts) -> None:
    """One ``search_materials`` over the systems / formulas with the question's bounds, sorted on its property."""
    args: dict[str, Any] = {}
    if systems := [m.chemsys for m in linked.materials if m.chemsys]:
        args["chemsys"] = systems
    elif formulas := [m.formula for m in linked.materials if m.formula]:
        args["formula"] = formulas
    if linked.stable_only:
        args["is_stable"] = True
    for bound in linked.thresholds:
        if name := _RANGE_ARGS.get(bound.property):
            if bound.low is not None:
                args[f"{name}_min"] = bound.low
            if bound.high is not None:
                args[f"{name}_max"] = bound.high
    keys = [k for k in linked.properties if k in _RANGE_ARGS] or ["energy_above_hull"]
    args |= {"fields": ["formula_pretty", "symmetry", "band_gap", "formation_energy_per_atom", "energy_above_hull",
                        "is_stable", "density"],
             "sort_by": _RANGE_ARGS[keys[0]] if _RANGE_ARGS[keys[0]] in ("band_gap", "energy_above_hull", "density")
             else "formation_energy_per_atom" if keys[0] == "formation_energy_per_atom" else None,
             "descending": linked.direction == "higher" or any(t.low is not None for t in linked.thresholds),
             "limit": RANGE_LIMIT}
    args = {k: v for k, v in args.items() if v is not None}
    if (data := run("search_materials", args)) is None:
        return
    out.records.extend(data["results"])
    units = data.get("units", {})
    for record in data["results"]:
        for key in keys:
            if (fact := _fact(record, key, "search_materials", units)) is not None:
                out.facts.append(fact.model_copy(update={"asked": False}))  # the records are the answer
    if data.get("truncated"):
        out.notes.append(f"more than {RANGE_LIMIT} materials match; the first {RANGE_LIMIT} are listed")


def _strain(linked: LinkedQuestion, run: _Runner, out: Facts) -> None:
    """Insert the first named element into the host (the next material) and measure the volumetric strain."""
    species = next((m for m in linked.materials if m.formula and len(m.formula.rstrip("0123456789")) <= 2
                    and m.formula.isalpha()), None)
    hosts = [m for m in linked.materials if m is not species]
    if species is None or not hosts:
        return
    host = next((m for m in hosts if m.material_id), hosts[0])
    host_id = host.material_id
    if host_id is None:
        if (data := run("get_properties", _selector(host))) is None:
            return
        host_id = data["results"][0]["material_id"]
    args = {"structure": host_id, "species": species.formula, "volume_model": "atomic_volumes"}
    if (data := run("insert_interstitial", args)) is None:
        return
    out.records.append(data)
    if (strain := data.get("volumetric_strain")) is not None:
        out.facts.append(Fact(material_id=host_id, formula=data.get("formula", ""), property="volumetric_strain",
                              value=strain, unit="(fraction)", tool="insert_interstitial",
                              endpoint=ENDPOINTS["insert_interstitial"], space_group=data.get("spacegroup")))
