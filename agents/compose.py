"""Answers composed from facts alone, and what a drafted answer must state.

``compose(facts)`` writes the answer a grounded turn falls back to: every value with its unit, MP id,
polymorph and source endpoint, as the tools returned them. ``omissions(answer, facts)`` lists what a
model's draft leaves out of the asked values and their MP ids; ``cite(answer, facts)`` completes a
draft that states every asked value but not all their MP ids (each id goes right after its value).
"""

from __future__ import annotations

from typing import Any

from agents.facts import Fact, Facts
from agents.grounding import states_value, value_spans
from agents.vocabulary import PROPERTIES

__all__ = ["cite", "compose", "facts_context", "omissions"]


def _value(fact: Fact) -> str:
    value = fact.value
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{text} {fact.unit}".strip() if fact.unit and fact.unit not in ("dimensionless", "(fraction)") else text


def _label(key: str) -> str:
    return PROPERTIES[key].label if key in PROPERTIES else key.replace("_", " ")


def _polymorph(fact: Fact) -> str:
    """Which polymorph the value belongs to, in words."""
    note = fact.polymorph or {}
    where = f"{fact.space_group}" if fact.space_group else ""
    if note.get("note"):
        return f"{where}; {note['note']}".strip("; ")
    if note.get("ground_state"):
        others = note.get("other_polymorphs", 0)
        polymorphs = f"{others} other {'polymorph' if others == 1 else 'polymorphs'} of {fact.formula} in MP"
        if others and note.get("ground_state_basis"):
            return f"{where}; {polymorphs}, none with an energy above hull in MP, so the lowest MP id was taken"
        if others:
            return f"{where}, the ground state (lowest energy above hull); {polymorphs}".strip(", ")
        return f"{where}, the only {fact.formula} entry in MP".strip(", ")
    return where


def _sentence(fact: Fact) -> str:
    where = _polymorph(fact)
    source = f"source: Materials Project {fact.endpoint} via {fact.tool}"
    return (f"The {_label(fact.property)} of {fact.formula} is {_value(fact)} [{fact.material_id}] "
            f"({'; '.join(p for p in (where, source) if p)}).")


def compose(facts: Facts) -> str:
    """The answer written from ``facts`` only (see the module docstring)."""
    linked = facts.linked
    lines: list[str] = []
    if linked.intent == "range":
        lines += _range(facts)
    elif linked.intent == "synthesis":
        lines += _synthesis(facts)
    elif linked.intent == "strain":
        lines += _strain(facts)
    else:
        lines += [_sentence(f) for f in facts.facts if f.property != "lattice_parameters"]
        if lattice := [f for f in facts.facts if f.property == "lattice_parameters"]:
            axes = ", ".join(f"{(f.polymorph or {}).get('axis', '?')} = {_value(f)}" for f in lattice)
            lines.append(f"The lattice parameters of {lattice[0].formula} [{lattice[0].material_id}] are {axes} "
                         f"(source: Materials Project structure via {lattice[0].tool}).")
        if linked.intent == "compare":
            lines += _comparison(facts)
    lines += [f"Note: {n}." if not n.endswith(".") else f"Note: {n}" for n in facts.notes]
    return "\n".join(lines) if lines else "I could not find this in the Materials Project data."


def _comparison(facts: Facts) -> list[str]:
    out = []
    for key in facts.linked.properties:
        values = [f for f in facts.facts if f.property == key and isinstance(f.value, (int, float))]
        if len({f.material_id for f in values}) < 2:
            continue
        lower = facts.linked.direction == "lower"
        best = (min if lower else max)(values, key=lambda f: f.value)
        word = "smaller" if lower else PROPERTIES[key].higher if key in PROPERTIES else "larger"
        others = ", ".join(f"{f.formula} {_value(f)} [{f.material_id}]" for f in values if f is not best)
        out.append(f"{best.formula} [{best.material_id}] has the {word} {_label(key)}: {_value(best)} "
                   f"(vs {others}).")
    return out


def _range(facts: Facts) -> list[str]:
    linked = facts.linked
    if not facts.records:
        return []
    where = ", ".join(m.chemsys or m.formula or m.text for m in linked.materials) or "MP"
    conditions = (["stable (on the convex hull)"] if linked.stable_only else []) + [
        f"{_label(t.property)} {'above ' + format(t.low, 'g') if t.low is not None else ''}"
        f"{' and ' if t.low is not None and t.high is not None else ''}"
        f"{'below ' + format(t.high, 'g') if t.high is not None else ''}".strip() for t in linked.thresholds]
    head = (f"{len(facts.records)} {'material' if len(facts.records) == 1 else 'materials'} of {where} in the "
            f"Materials Project match ({', '.join(conditions) or 'all'}); source: materials/summary via "
            "search_materials:")
    return [head] + [_record_line(r) for r in facts.records]


def _record_line(record: dict[str, Any]) -> str:
    parts = []
    for key in ("band_gap", "formation_energy_per_atom", "energy_above_hull", "density"):
        if (value := record.get(key)) is not None:
            parts.append(f"{_label(key)} {value:g} {PROPERTIES[key].unit}")
    symmetry = (record.get("symmetry") or {}).get("symbol")
    return f"- {record.get('formula_pretty', '?')} [{record['material_id']}]" + (
        f", {symmetry}" if symmetry else "") + (f": {'; '.join(parts)}" if parts else "")


def _synthesis(facts: Facts) -> list[str]:
    if not facts.records:
        return []
    target = facts.linked.materials[0].formula if facts.linked.materials else "it"
    noun = "recipe" if len(facts.records) == 1 else "recipes"
    head = (f"{len(facts.records)} text-mined synthesis {noun} for {target} in the Materials Project "
            "(materials/synthesis via search_synthesis):")
    out = [head]
    for r in facts.records:
        steps = []
        for op in r.get("operations") or []:
            detail = " ".join(str(x) for key in ("temperature", "time") for x in op.get(key) or [])
            atmosphere = f" in {', '.join(op['atmosphere'])}" if op.get("atmosphere") else ""
            steps.append(f"{op.get('token') or op.get('type')}{' ' + detail if detail else ''}{atmosphere}")
        target_id = f" [{r['target_mp_id']}]" if r.get("target_mp_id") else ""
        line = f"- recipe [{r.get('recipe_id')}]{target_id}"
        if r.get("doi"):
            line += f" (doi {r['doi']})"
        if r.get("precursors"):
            line += f": precursors {', '.join(r['precursors'])}"
        if r.get("reaction"):
            line += f"; reaction {r['reaction']}"
        if steps:
            line += f"; steps: {'; '.join(steps)}"
        out.append(line)
    return out


def _strain(facts: Facts) -> list[str]:
    if not facts.records:
        return []
    data = facts.records[0]
    inserted = data.get("inserted") or {}
    fact = next((f for f in facts.facts if f.property == "volumetric_strain"), None)
    strain = f"{fact.value:g} ({fact.value * 100:.3g}%)" if fact else "not available"
    hosts = [m for m in facts.linked.materials if m.formula != inserted.get("species")]
    host = hosts[0].formula or hosts[0].text if hosts else ""
    return [f"Inserting {inserted.get('species', 'the atom')} into {host} "
            f"[{fact.material_id if fact else data.get('material_id')}] (cell now {data.get('formula', '?')}) at the "
            f"{inserted.get('placed_at', 'void')} "
            f"gives a volumetric strain of {strain} against the MP reference cell (structure {data.get('handle')}, "
            f"via insert_interstitial). {data.get('note', '')}".strip()]


def omissions(answer: str, facts: Facts) -> list[str]:
    """The asked values and MP ids ``answer`` does not state (empty when it states them all)."""
    missing = []
    for fact in facts.facts:
        if not fact.asked:
            continue
        if isinstance(fact.value, (int, float)) and not states_value(answer, float(fact.value)):
            missing.append(f"the {_label(fact.property)} of {fact.formula} ({_value(fact)})")
        if fact.material_id not in answer:
            missing.append(f"the MP id {fact.material_id}")
    ids = [r.get("recipe_id") or r.get("material_id") for r in facts.records if facts.linked.intent != "strain"]
    if ids and not any(str(i) in answer for i in ids if i):
        missing.append(f"the ids of the records found ({', '.join(str(i) for i in ids[:5] if i)})")
    return list(dict.fromkeys(missing))


def cite(answer: str, facts: Facts) -> str | None:
    """``answer`` with ``[mp-id]`` after the first mention of each asked value whose id it leaves out; None
    when that cannot complete it (a value not stated, or records whose ids a list must name).

    The ids come from the facts themselves, so a draft whose only fault is a missing citation needs no
    second generation; the polymorph each value belongs to (which one, how many others) follows, as
    in a composed answer.
    """
    if any(not f.asked for f in facts.facts) or facts.records:
        return None
    inserts: dict[int, list[str]] = {}
    for fact in facts.facts:
        if fact.material_id in answer or any(fact.material_id in ids for ids in inserts.values()):
            continue
        if isinstance(fact.value, (int, float)) and not isinstance(fact.value, bool):
            spans = value_spans(answer, float(fact.value))
        else:
            spans = [(i, i + len(str(fact.value)))] if (i := answer.find(str(fact.value))) >= 0 else []
        if not spans:
            return None
        inserts.setdefault(spans[0][1], []).append(fact.material_id)
    for end in sorted(inserts, reverse=True):
        answer = f"{answer[:end]} [{', '.join(inserts[end])}]{answer[end:]}"
    notes = {f.material_id: f"{f.formula} [{f.material_id}]: {_polymorph(f)}" for f in facts.facts
             if f.polymorph and _polymorph(f)}  # which polymorph, as the composed answer says it
    return answer + "".join(f" ({note}.)" for note in notes.values())


def facts_context(facts: Facts) -> str:
    """The facts as the model reads them before it writes: one line per value, then the notes."""
    lines = [f"- {_label(f.property)} of {f.formula} [{f.material_id}]: {_value(f)}"
             + (f" ({_polymorph(f)})" if _polymorph(f) else "") for f in facts.facts]
    lines += [_record_line(r) for r in facts.records if facts.linked.intent == "range"]
    lines += [f"- note: {n}" for n in facts.notes]
    return "\n".join(lines)
