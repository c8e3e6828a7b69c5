"""Question sets for ``matlas eval agent`` generated from any MP snapshot (JSONL(.gz) or snapshot SQLite).

``generate(records, n, seed)`` reads the records themselves (not through the agent's tools): each
single-property question names its material unambiguously for that snapshot (the formula when only one
material has it, else the formula and its space group, else the MP id), and expects the record's own
value. Comparisons pair two such materials whose values differ by more than 10 %; range questions
ask for the stable materials of a chemical system above a band-gap threshold, expecting every id
that matches. Deterministic for a seed.
"""

from __future__ import annotations

import gzip
import json
import random
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agents.eval import EvalTask
from matlas.errors import InvalidInput

__all__ = ["GENERATED_PROPERTIES", "generate", "read_records"]

# property -> (how questions name it, unit, where the record keeps it)
GENERATED_PROPERTIES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "band_gap": ("band gap", "eV", ("band_gap",)),
    "formation_energy_per_atom": ("formation energy per atom", "eV/atom", ("formation_energy_per_atom",)),
    "bulk_modulus": ("bulk modulus", "GPa", ("bulk_modulus", "vrh")),
    "shear_modulus": ("shear modulus", "GPa", ("shear_modulus", "vrh")),
    "density": ("density", "g/cm³", ("density",)),
    "n": ("refractive index", "", ("n",)),
}
_TEMPLATES = ("What is the {label} of {name}?", "What's the {label} of {name} according to the Materials Project?",
              "Give me the {label} of {name}.", "{name}: what is its {label}?")


def read_records(path: Path) -> list[dict[str, Any]]:
    """The material records of a snapshot: a JSONL(.gz) file of MP summary-like records, or a snapshot SQLite."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"snapshot not found: {path}")
    if path.suffix in (".sqlite", ".db"):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return [json.loads(doc) for (doc,) in db.execute("SELECT doc FROM materials")]
    return list(_jsonl(path))


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError:
                    raise InvalidInput(f"{path}:{number}: not a JSON object") from None


def _value(record: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def generate(records: list[dict[str, Any]], n: int, *, seed: int = 0, extra: int = 10) -> list[EvalTask]:
    """``n`` single-property questions spread over ``GENERATED_PROPERTIES`` plus ``extra`` comparison and
    range questions (half each, as far as the snapshot allows)."""
    if n < 1:
        raise InvalidInput(f"--generate needs at least 1 question, got {n}")
    rng = random.Random(seed)
    formulas = Counter(r["formula_pretty"] for r in records)
    polymorphs = Counter((r["formula_pretty"], (r.get("symmetry") or {}).get("number")) for r in records)
    tasks: list[EvalTask] = []
    per_property = -(-n // len(GENERATED_PROPERTIES))
    for prop, (label, unit, path) in GENERATED_PROPERTIES.items():
        pool = [r for r in records if _value(r, path) is not None]
        for i, record in enumerate(rng.sample(pool, min(per_property, len(pool)))):
            if len(tasks) >= n:
                break
            name = _name(record, formulas, polymorphs, i)
            tasks.append(EvalTask(id=f"{prop}-{record['material_id']}", kind="property",
                                  question=_TEMPLATES[i % len(_TEMPLATES)].format(label=label, name=name),
                                  material_id=record["material_id"], property=prop, unit=unit,
                                  expected=_value(record, path)))
    tasks += _comparisons(records, formulas, rng, extra - extra // 2)
    tasks += _ranges(records, rng, extra // 2)
    return tasks


def _name(record: dict[str, Any], formulas: Counter, polymorphs: Counter, i: int) -> str:
    """How a question names the record unambiguously in this snapshot."""
    formula, symmetry = record["formula_pretty"], record.get("symmetry") or {}
    if i % 5 == 4:
        return record["material_id"]
    if formulas[formula] == 1:
        return formula
    if polymorphs[(formula, symmetry.get("number"))] == 1 and symmetry.get("symbol"):
        return f"{formula} in {symmetry['symbol']}"
    return record["material_id"]


def _comparisons(records: list[dict[str, Any]], formulas: Counter, rng: random.Random, count: int) -> list[EvalTask]:
    out = []
    for prop in ("band_gap", "bulk_modulus"):
        label, unit, path = GENERATED_PROPERTIES[prop]
        pool = [r for r in records if formulas[r["formula_pretty"]] == 1 and (_value(r, path) or 0) > 0]
        for _ in range(200):
            if len(out) >= count * (1 if prop == "bulk_modulus" else 0.6) or len(pool) < 2:
                break
            a, b = rng.sample(pool, 2)
            va, vb = _value(a, path), _value(b, path)
            if abs(va - vb) <= 0.1 * max(va, vb):
                continue
            winner, loser = (a, b) if va > vb else (b, a)
            out.append(EvalTask(
                id=f"compare-{prop}-{a['material_id']}-{b['material_id']}", kind="compare", property=prop,
                question=f"Which has the larger {label}, {a['formula_pretty']} or {b['formula_pretty']}?",
                material_id=winner["material_id"], others=[loser["material_id"]], unit=unit,
                expected=_value(winner, path)))
    return out[:count]


def _ranges(records: list[dict[str, Any]], rng: random.Random, count: int) -> list[EvalTask]:
    by_system: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r.get("is_stable") and r.get("band_gap") is not None and r.get("nelements", 0) >= 2:
            by_system.setdefault(r["chemsys"], []).append(r)
    systems = sorted(s for s, rs in by_system.items() if any(r["band_gap"] > 0.5 for r in rs))
    several = [s for s in systems if len(by_system[s]) > 1]  # systems with a choice to make come first
    chosen = rng.sample(several, min(count, len(several)))
    chosen += rng.sample([s for s in systems if s not in chosen], min(count - len(chosen), len(systems) - len(chosen)))
    out = []
    for system in chosen:
        gaps = sorted(r["band_gap"] for r in by_system[system])
        threshold = round(max(0.0, gaps[0] - 0.25), 1) if gaps[0] > 0.3 else 0.1
        expected = sorted(r["material_id"] for r in by_system[system] if r["band_gap"] > threshold)
        out.append(EvalTask(
            id=f"range-{system}", kind="range", property="band_gap", unit="eV",
            question=f"Which stable {system} compounds have a band gap above {threshold:g} eV?",
            expected_ids=expected, expected=float(len(expected))))
    return out
