"""MP-shaped documents: a snapshot record seen by each endpoint, and recipes as MP synthesis docs.

Pure functions of plain dicts; the shapes follow emmet-core's document models, which the
mp-api client validates against (``SummaryDoc``, ``ThermoDoc``, ``SynthesisSearchResultModel`` ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from math import gcd
from typing import Any

from pymatgen.core import Composition

__all__ = [
    "ENDPOINT_DOCS",
    "HAS_PROPS",
    "THERMO_TYPE",
    "anonymous_formula",
    "has_props",
    "highlights",
    "recipe_doc",
    "reduced_formula",
    "synthesis_doc",
]


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


THERMO_TYPE = "GGA_GGA+U"
"""Thermo type of snapshot energies (MP's mixed GGA/GGA+U hull, the vintage of the shared data)."""

_IDENTITY = _names("""
    material_id formula_pretty formula_anonymous chemsys elements nelements nsites volume
    density density_atomic symmetry structure deprecated
""")
_SUMMARY = _IDENTITY + _names("""
    theoretical band_gap cbm vbm efermi is_gap_direct is_metal energy_per_atom
    uncorrected_energy_per_atom formation_energy_per_atom energy_above_hull is_stable
    equilibrium_reaction_energy_per_atom decomposes_to bulk_modulus shear_modulus
    universal_anisotropy homogeneous_poisson e_total e_ionic e_electronic n e_ij_max
    ordering is_magnetic total_magnetization total_magnetization_normalized_vol
    total_magnetization_normalized_formula_units num_magnetic_sites
    num_unique_magnetic_sites types_of_magnetic_species possible_species
    weighted_surface_energy weighted_work_function surface_anisotropy shape_factor
    has_reconstructed database_IDs task_ids has_props
""")
_THERMO = _names("""
    energy_per_atom uncorrected_energy_per_atom formation_energy_per_atom energy_above_hull
    is_stable equilibrium_reaction_energy_per_atom decomposes_to
""")
_ELASTICITY = _names("""
    bulk_modulus shear_modulus universal_anisotropy homogeneous_poisson young_modulus
    debye_temperature sound_velocity thermal_conductivity elastic_tensor compliance_tensor
""")
_MAGNETISM = _names("""
    ordering is_magnetic exchange_symmetry num_magnetic_sites num_unique_magnetic_sites
    types_of_magnetic_species magmoms total_magnetization total_magnetization_normalized_vol
    total_magnetization_normalized_formula_units
""")
_DIELECTRIC = _names("total ionic electronic e_total e_ionic e_electronic n")
_ELECTRONIC = _names("band_gap cbm vbm efermi is_gap_direct is_metal")


def _pick(record: dict, keys: tuple[str, ...]) -> dict[str, Any]:
    """Every field of the endpoint, null when the record lacks it, as MP serialises its documents
    (mp-api builds its result model from the first document's keys)."""
    return {k: record.get(k) for k in keys} | {"deprecated": bool(record.get("deprecated"))}


def summary_doc(record: dict) -> dict[str, Any]:
    """``materials/summary``: the record's SummaryDoc fields."""
    return _pick(record, _SUMMARY)


def core_doc(record: dict) -> dict[str, Any]:
    """``materials/core`` (MaterialsDoc): identity, symmetry and the structure."""
    return _pick(record, _IDENTITY)


def thermo_doc(record: dict) -> dict[str, Any]:
    """``materials/thermo`` (ThermoDoc) for the snapshot's one thermo type, with the material's
    ComputedStructureEntry dicts by run type where an entries file was imported (else ``{}``)."""
    entries = record.get("entries") or {}
    return _pick(record, _IDENTITY + _THERMO) | {
        "thermo_id": f"{record['material_id']}_{THERMO_TYPE}",
        "thermo_type": THERMO_TYPE,
        "entries": entries,
        "entry_types": list(entries),
        "energy_type": next(iter(entries), None),
    }


def elasticity_doc(record: dict) -> dict[str, Any]:
    """``materials/elasticity`` (ElasticityDoc): moduli as ``{"voigt", "reuss", "vrh"}`` in GPa."""
    return _pick(record, _IDENTITY + _ELASTICITY)


def magnetism_doc(record: dict) -> dict[str, Any]:
    """``materials/magnetism`` (MagnetismDoc)."""
    return _pick(record, _IDENTITY + _MAGNETISM)


def dielectric_doc(record: dict) -> dict[str, Any]:
    """``materials/dielectric`` (DielectricDoc): polycrystalline constants, tensors when stored."""
    return _pick(record, _IDENTITY + _DIELECTRIC)


def electronic_structure_doc(record: dict) -> dict[str, Any]:
    """``materials/electronic_structure`` (ElectronicStructureDoc), with ``magnetic_ordering``."""
    return _pick(record, _IDENTITY + _ELECTRONIC) | {"magnetic_ordering": record.get("ordering")}


ENDPOINT_DOCS: dict[str, Callable[[dict], dict[str, Any]]] = {
    "summary": summary_doc,
    "core": core_doc,
    "thermo": thermo_doc,
    "elasticity": elasticity_doc,
    "magnetism": magnetism_doc,
    "dielectric": dielectric_doc,
    "electronic_structure": electronic_structure_doc,
}


def has_props(record: dict) -> dict[str, bool]:
    """Which endpoints have a document for this record (MP ``has_props``); stored at import."""
    return {name: bool(present(record)) for name, present in HAS_PROPS.items()}


HAS_PROPS: dict[str, Callable[[dict], Any]] = {
    "materials": lambda r: True,
    "thermo": lambda r: (
        r.get("energy_above_hull") is not None or r.get("formation_energy_per_atom") is not None
    ),
    "elasticity": lambda r: r.get("bulk_modulus") or r.get("shear_modulus"),
    "magnetism": lambda r: r.get("ordering") is not None,
    "dielectric": lambda r: r.get("e_total") is not None,
    "electronic_structure": lambda r: r.get("band_gap") is not None,
}


@lru_cache(maxsize=4096)
def reduced_formula(formula: str) -> str | None:
    """MP's ``formula_pretty`` of a formula (``"Fe4O6"`` -> ``"Fe2O3"``), None if it does not parse.

    >>> reduced_formula("O3Fe2"), reduced_formula("LiFePO4"), reduced_formula("LaNb0.5Ga5-xAlxO14")
    ('Fe2O3', 'LiFePO4', None)
    """
    try:
        comp = Composition(formula, strict=True)
    except (ValueError, KeyError, TypeError):
        return None
    return comp.reduced_formula if comp.num_atoms > 0 else None


_ANONYMOUS = re.compile(r"([A-Z][a-z]?)(\d*)")


def anonymous_formula(formula: str) -> str | None:
    """MP's ``formula_anonymous`` of an anonymous formula (``"B3A2"`` -> ``"A2B3"``), or None.

    >>> anonymous_formula("ABC3"), anonymous_formula("B3A2"), anonymous_formula("Fe2O3")
    ('ABC3', 'A2B3', 'A2B3')
    """
    parts = _ANONYMOUS.findall(formula)
    if not parts or "".join(s + n for s, n in parts) != formula:
        return None
    amounts = sorted(int(n or 1) for _, n in parts)
    divisor = gcd(*amounts)
    return "".join(
        chr(ord("A") + i) + (str(a // divisor) if a // divisor > 1 else "")
        for i, a in enumerate(amounts)
    )


_OPERATION_TYPES = {
    "StartingSynthesis": "StartingSynthesis",
    "MixingOperation": "MixingOperation",
    "Mixing": "MixingOperation",
    "LiquidGrinding": "MixingOperation",
    "SolutionMixing": "MixingOperation",
    "ShapingOperation": "ShapingOperation",
    "DryingOperation": "DryingOperation",
    "HeatingOperation": "HeatingOperation",
    "QuenchingOperation": "QuenchingOperation",
}
_TO_CELSIUS = {
    "C": lambda v: v,
    "°C": lambda v: v,
    "K": lambda v: v - 273.15,
    "F": lambda v: (v - 32) / 1.8,
}
_TO_HOURS = {
    "h": 1.0,
    "hour": 1.0,
    "hours": 1.0,
    "hrs": 1.0,
    "min": 1 / 60,
    "mins": 1 / 60,
    "minutes": 1 / 60,
    "s": 1 / 3600,
    "day": 24.0,
    "days": 24.0,
    "week": 168.0,
    "weeks": 168.0,
}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _value(text: str, convert: Callable[[float], float], units: str) -> dict[str, Any] | None:
    values = [round(convert(float(v)), 3) for v in _NUMBER.findall(text)]
    if not values:
        return None
    return {"values": values, "min_value": min(values), "max_value": max(values), "units": units}


def _conditions(text: str) -> dict[str, Any]:
    """Compact recipe conditions (``T=700 C; t=10 h; atmosphere=argon``) as emmet ``Conditions``."""
    out: dict[str, Any] = {"heating_temperature": [], "heating_time": [], "heating_atmosphere": []}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, _, value = part.partition("=")
        unit = value.split()[-1] if value.split() else ""
        if key == "T" and unit in _TO_CELSIUS and (v := _value(value, _TO_CELSIUS[unit], "C")):
            out["heating_temperature"].append(v)
        elif (
            key == "t"
            and unit in _TO_HOURS
            and (v := _value(value, lambda x, f=_TO_HOURS[unit]: x * f, "h"))
        ):
            out["heating_time"].append(v)
        elif key == "atmosphere":
            for gas in re.split(r"[,/]\s*", value.strip()):
                if gas and gas not in out["heating_atmosphere"]:
                    out["heating_atmosphere"].append(gas)
        elif key == "device":
            out["mixing_device"] = value.strip()
        elif key == "media":
            out["mixing_media"] = value.strip()
    return {k: v for k, v in out.items() if v}


def _material(formula: str) -> dict[str, Any]:
    """An emmet ``ExtractedMaterial``; its composition is empty when the formula has variables."""
    reduced = reduced_formula(formula)
    composition = []
    if reduced is not None:
        amounts = Composition(formula).get_el_amt_dict()
        composition = [
            {
                "formula": formula,
                "amount": "1",
                "elements": {el: f"{n:g}" for el, n in amounts.items()},
            }
        ]
    return {"material_string": formula, "material_formula": formula, "composition": composition}


def _reaction(reaction: str | None) -> dict[str, Any] | None:
    """``"1 BaCO3 + 1 TiO2 == 1 BaTiO3 + 1 CO2"`` as an emmet ``ReactionFormula``."""
    if not reaction or "==" not in reaction:
        return None

    def side(text: str) -> list[dict[str, str]]:
        parts = []
        for term in filter(None, (t.strip() for t in text.split(" + "))):
            amount, _, material = term.partition(" ")
            parts.append(
                {"amount": amount, "material": material}
                if material
                else {"amount": "1", "material": amount}
            )
        return parts

    left, _, right = reaction.partition("==")
    return {"left_side": side(left), "right_side": side(right), "element_substitution": {}}


def synthesis_doc(doc: dict) -> dict[str, Any]:
    """A stored recipe as served: every operation's conditions carry MP's list fields (lists, never
    missing) and ``mixing_device`` / ``mixing_media`` (null when absent)."""
    for op in doc.get("operations") or []:
        conditions = op.setdefault("conditions", {})
        for key in ("heating_temperature", "heating_time", "heating_atmosphere"):
            conditions[key] = conditions.get(key) or []
        for key in ("mixing_device", "mixing_media"):
            conditions.setdefault(key, None)
    return doc


def highlights(texts: dict[str, str], keywords: list[str]) -> list[dict[str, Any]]:
    """MP's keyword ``highlights``: per field whose text holds a keyword (any case), the text
    split into ``{"value", "type": "text" | "hit"}`` pieces, as Atlas search returns them."""
    if not keywords:
        return []
    pattern = re.compile("|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True)),
                         re.IGNORECASE)
    out = []
    for path, text in texts.items():
        if not text or not pattern.search(text):
            continue
        pieces, at = [], 0
        for hit in pattern.finditer(text):
            if hit.start() > at:
                pieces.append({"value": text[at:hit.start()], "type": "text"})
            pieces.append({"value": hit.group(), "type": "hit"})
            at = hit.end()
        if at < len(text):
            pieces.append({"value": text[at:], "type": "text"})
        hits = sum(p["type"] == "hit" for p in pieces)
        out.append({"path": path, "score": float(hits), "texts": pieces})
    return out


def recipe_doc(recipe: dict) -> dict[str, Any]:
    """A recipe of the shared schema as MP's ``SynthesisSearchResultModel``, plus matlas' fields.

    ``*_formula_s`` hold reduced formulas for searching; conditions are normalised to °C and hours.
    """
    operations = []
    for op in recipe["operations"]:
        if op["type"] not in _OPERATION_TYPES:
            raise ValueError(
                f"unknown operation type {op['type']!r}; known: {', '.join(_OPERATION_TYPES)}"
            )
        operations.append(
            {
                "type": _OPERATION_TYPES[op["type"]],
                "token": op["token"],
                "conditions": _conditions(op["conditions"]),
            }
        )
    targets = recipe["targets_string"] or [recipe["target_formula"]]
    return {
        "recipe_id": recipe["recipe_id"],
        "doi": recipe["doi"],
        "paragraph_string": recipe["paragraph_excerpt"],
        "synthesis_type": recipe["synthesis_type"],
        "reaction_string": recipe["reaction_string"],
        "reaction": _reaction(recipe["reaction_string"]),
        "target": _material(recipe["target_formula"]),
        "targets_formula": targets,
        "targets_formula_s": sorted(
            {reduced_formula(f) or f for f in [recipe["target_formula"], *targets]}
        ),
        "precursors_formula": recipe["precursors_formula"],
        "precursors_formula_s": sorted(
            {reduced_formula(f) or f for f in recipe["precursors_formula"]}
        ),
        "precursors": [_material(f) for f in recipe["precursors_formula"]],
        "operations": operations,
        "target_formula": recipe["target_formula"],
        "target_mp_id": recipe["target_mp_id"],
        "text": recipe["text"],
    }
