"""Entity linking of a question, before any model writes: which materials and properties it asks about.

``link(question)`` is deterministic and does no I/O. Materials are found as MP ids (``mp-804``),
formulas in any spelling pymatgen parses (``GaN``, ``LiFePO4``, ``Li(FePO4)``, ``SiO2``), chemical systems
(``Li-Fe-O``), element names (``silicon``), and common, mineral or structure-type names (``rock salt``,
``corundum``, ``anatase``, ``wurtzite GaN``), optionally with a space group (``NiF2 in P4_2/mnm``,
``P63mc``, ``space group 136``). Properties come from ``agents.vocabulary``; thresholds ("band gap
above 2 eV"), "stable", comparatives ("which has the larger") and verbs ("how is ... synthesised",
"insert Li into Si ... strain") decide the intent.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from pydantic import BaseModel, Field
from pymatgen.core import Composition, Element

from agents.vocabulary import NAMES, PROPERTIES, STRUCTURE_TYPES

__all__ = ["LinkedMaterial", "LinkedQuestion", "Threshold", "link", "spacegroup_number"]

Intent = Literal["lookup", "compare", "range", "synthesis", "strain", "none"]

_MP_ID = re.compile(r"(?<![\w-])(?:mp|mvc)-\d+(?![\w-])", re.IGNORECASE)
_CHEMSYS = re.compile(r"(?<![\w-])[A-Z][a-z]?(?:-[A-Z][a-z]?)+(?![\w-])")
_TOKEN = re.compile(r"(?<![\w-])[A-Z(][A-Za-z0-9().,_/\-]*(?<![.,])")
_FORMULA = re.compile(r"^(?:\(?[A-Z][a-z]?\d*(?:\.\d+)?\)?\d*)+$")
_SG_NUMBER = re.compile(r"space\s?group\s*(?:no\.?|number|#)?\s*(\d{1,3})\b", re.IGNORECASE)
_SG_CONTEXT = re.compile(r"(?:\bin|space\s?group|spacegroup|symmetry|phase|polymorph)\s*$", re.IGNORECASE)
# single-element readings that are English words, and upper-case words that parse as formulas
_NOT_FORMULAS = frozenset({"I", "In", "As", "At", "Be", "He", "No", "Am", "IN", "IS", "AS", "AT", "BE", "HE", "NO",
                           "ON", "OF", "OR", "US", "OK", "SO", "HI", "CO2e", "PBE", "SCAN", "DFT", "VRH", "MP"})
_NOT_ELEMENT_NAMES = frozenset({"lead", "tin"})  # element names that are mostly English words here
_ABOVE = r"above|over|greater than|more than|larger than|higher than|at least|exceeding|>=|>|≥|beyond"
_BELOW = r"below|under|less than|lower than|smaller than|at most|<=|<|≤"
_NUM = r"(-?\d+(?:\.\d+)?)"
_THRESHOLD = re.compile(rf"(?P<dir>{_ABOVE}|{_BELOW})\s*{_NUM}")
_BETWEEN = re.compile(rf"between\s*{_NUM}\s*(?:[a-zA-Zé/³]+\s*)?and\s*{_NUM}")
_SYNTHESIS = re.compile(r"synthes[ie][sz]|\brecipes?\b|\bprecursors?\b|\bhow (?:is|are|do|does|can|to)\b.*\b(?:made|make|"
                        r"prepared|prepare|grown|grow|produced|produce)\b", re.IGNORECASE)
_STRAIN = re.compile(r"\bstrain", re.IGNORECASE)
_INSERT = re.compile(r"\b(?:insert|inserting|inserted|add|adding|put|putting|intercalat\w*|interstitial|place)\b",
                     re.IGNORECASE)
_COMPARE = re.compile(r"\b(?:which|compare|comparison|versus|vs\.?|or|than)\b", re.IGNORECASE)
_HIGHER = re.compile(r"\b(?:larger|largest|higher|highest|bigger|biggest|greater|greatest|more|most|stiffer|"
                     r"stiffest|denser|densest|wider|widest)\b", re.IGNORECASE)
_LOWER = re.compile(r"\b(?:smaller|smallest|lower|lowest|less|least|softer|softest|narrower|narrowest)\b",
                    re.IGNORECASE)
_COLLECTION = re.compile(r"\b(?:compounds|materials|phases|oxides|which|list|find|all)\b", re.IGNORECASE)


class LinkedMaterial(BaseModel):
    """One material the question names, as written and as MP can look it up."""

    text: str = Field(description="The words of the question that name it.")
    kind: Literal["mp_id", "formula", "chemsys", "element_name", "common_name"]
    material_id: str | None = None
    formula: str | None = Field(None, description="Reduced formula (pymatgen).")
    chemsys: str | None = None
    spacegroup: int | None = Field(None, description="Space group number the question fixes (polymorph).")
    start: int = Field(0, description="Where the mention starts in the question.")


class Threshold(BaseModel):
    """A bound on a property: ``band gap above 2 eV`` is (band_gap, 2.0, None)."""

    property: str
    low: float | None = None
    high: float | None = None


class LinkedQuestion(BaseModel):
    """What ``link`` found in a question."""

    question: str
    materials: list[LinkedMaterial] = Field(default_factory=list)
    properties: list[str] = Field(default_factory=list, description="Property keys, in the order asked.")
    intent: Intent = "none"
    thresholds: list[Threshold] = Field(default_factory=list)
    stable_only: bool = Field(False, description="The question asks for stable materials only.")
    direction: Literal["higher", "lower"] | None = Field(None, description="Of a comparison.")

    @property
    def linked(self) -> bool:
        """Whether the linker covers the question (facts can answer it without planning)."""
        return self.intent != "none"


def link(question: str) -> LinkedQuestion:
    """Materials, properties and intent of ``question`` (rules in the module docstring)."""
    materials = _materials(question)
    properties, spans = _properties(question)
    thresholds = _thresholds(question, spans)
    lowered = question.lower()
    stable = bool(re.search(r"\bstable\b", lowered)) and not re.search(r"\bhow stable\b|\bis \S+ stable\b", lowered)
    direction = "higher" if _HIGHER.search(question) else "lower" if _LOWER.search(question) else None
    intent: Intent = "none"
    systems = [m for m in materials if m.kind == "chemsys"]
    if _STRAIN.search(question) and _INSERT.search(question) and len(materials) >= 2:
        intent = "strain"
    elif _SYNTHESIS.search(question) and any(m.formula for m in materials):
        intent = "synthesis"
        properties = ["synthesis"]
    elif systems or (thresholds and _COLLECTION.search(question)) or (
            stable and _COLLECTION.search(question) and not any(m.kind != "chemsys" for m in materials)):
        intent = "range" if (systems or any(m.formula for m in materials) or thresholds) else "none"
        if stable:
            properties = [p for p in properties if p != "energy_above_hull"] or ["energy_above_hull"]
    elif len(materials) >= 2 and properties and _COMPARE.search(question):
        intent = "compare"
    elif materials and properties:
        intent = "lookup"
    elif materials:
        intent = "lookup"
        properties = ["band_gap", "formation_energy_per_atom", "energy_above_hull", "density", "space_group"]
    properties = [p for p in properties if p != "synthesis"] if intent != "synthesis" else properties
    return LinkedQuestion(question=question, materials=materials, properties=properties, intent=intent,
                          thresholds=thresholds, stable_only=stable and intent == "range",
                          direction=direction if intent in ("compare", "range") else None)


def _properties(question: str) -> tuple[list[str], list[tuple[int, int, str]]]:
    """Property keys asked, in question order, and their spans; the longest phrase wins an overlap."""
    lowered = question.lower()
    terms = sorted(((t, p.key) for p in PROPERTIES.values() for t in p.terms), key=lambda tp: -len(tp[0]))
    taken: list[tuple[int, int, str]] = []
    for term, key in terms:
        for m in re.finditer(rf"(?<![\w-]){re.escape(term)}(?![\w-])", lowered):
            if not any(s < m.end() and m.start() < e for s, e, _ in taken):
                taken.append((m.start(), m.end(), key))
    taken.sort()
    return list(dict.fromkeys(k for _, _, k in taken)), taken


def _thresholds(question: str, spans: list[tuple[int, int, str]]) -> list[Threshold]:
    """Bounds written after a property ("band gap above 2 eV", "bulk modulus between 100 and 200 GPa")."""
    lowered = question.lower()
    found: dict[str, Threshold] = {}

    def owner(at: int) -> str | None:
        before = [(e, k) for s, e, k in spans if e <= at and k not in ("synthesis", "space_group")]
        return max(before)[1] if before else None

    for m in _BETWEEN.finditer(lowered):
        if key := owner(m.start()):
            found[key] = Threshold(property=key, low=float(m.group(1)), high=float(m.group(2)))
    for m in _THRESHOLD.finditer(lowered):
        key = owner(m.start())
        if key is None or (key in found and found[key].low is not None and found[key].high is not None):
            continue
        bound = found.setdefault(key, Threshold(property=key))
        if re.fullmatch(_ABOVE, m.group("dir")):
            bound.low = float(m.group(2))
        else:
            bound.high = float(m.group(2))
    return list(found.values())


def _materials(question: str) -> list[LinkedMaterial]:
    """Every material mention of ``question``, in order; a polymorph hint binds to the nearest formula."""
    found: list[LinkedMaterial] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return not any(s < end and start < e for s, e in taken)

    for m in _MP_ID.finditer(question):
        found.append(LinkedMaterial(text=m.group(), kind="mp_id", material_id=m.group().lower(), start=m.start()))
        taken.append(m.span())
    lowered = question.lower()
    for name in sorted(NAMES, key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", lowered):
            if not free(*m.span()):
                continue
            if _names_structure_of_formula(question, m, name):
                taken.append(m.span())  # "zinc blende GaN": a polymorph hint, not zinc
            else:
                entry = NAMES[name]
                found.append(LinkedMaterial(text=question[m.start():m.end()], kind="common_name",
                                            formula=_reduced(entry.formula), spacegroup=entry.spacegroup,
                                            start=m.start()))
                taken.append(m.span())
    for name in STRUCTURE_TYPES:
        taken.extend(m.span() for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", lowered))
    for m in _CHEMSYS.finditer(question):
        elements = m.group().split("-")
        if free(*m.span()) and all(Element.is_valid_symbol(e) for e in elements) and len(set(elements)) > 1:
            found.append(LinkedMaterial(text=m.group(), kind="chemsys", chemsys="-".join(sorted(set(elements))),
                                        start=m.start()))
            taken.append(m.span())
    groups = _spacegroups(question, taken)
    taken.extend(span for span, _ in groups)
    for m in _TOKEN.finditer(question):
        token = m.group().rstrip(")") if m.group().count(")") > m.group().count("(") else m.group()
        span = (m.start(), m.start() + len(token))
        if free(*span) and (formula := _formula(token)):
            found.append(LinkedMaterial(text=token, kind="formula", formula=formula, start=m.start()))
            taken.append(span)
    for m in re.finditer(r"[a-z]+", lowered):
        if free(*m.span()) and (symbol := _element_names().get(m.group())):
            found.append(LinkedMaterial(text=m.group(), kind="element_name", formula=symbol, start=m.start()))
            taken.append(m.span())
    found.sort(key=lambda x: x.start)
    _bind_polymorphs(question, found, groups)
    return _dedupe(found)


def _names_structure_of_formula(question: str, m: re.Match[str], name: str) -> bool:
    """Whether a structure-type word ("wurtzite", "rock salt") qualifies a formula next to it."""
    if name not in STRUCTURE_TYPES:
        return False
    window = question[max(0, m.start() - 40):m.end() + 40]
    return any(_formula(t.group()) for t in _TOKEN.finditer(window))


def _bind_polymorphs(question: str, found: list[LinkedMaterial], groups: list[tuple[tuple[int, int], int]]) -> None:
    """Give each formula the space group (or structure type) written nearest after it, else before it."""
    hints = list(groups)
    lowered = question.lower()
    for name, number in STRUCTURE_TYPES.items():
        for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", lowered):
            if not any(x.kind == "common_name" and x.start == m.start() for x in found):
                hints.append((m.span(), number))
    formulas = [x for x in found if x.kind in ("formula", "element_name") and x.spacegroup is None]
    for (start, end), number in sorted(hints):
        if not formulas:
            return
        after = [x for x in formulas if x.start < start]
        target = after[-1] if after else min(formulas, key=lambda x: x.start - end)
        target.spacegroup = number
        formulas.remove(target)


def _dedupe(found: list[LinkedMaterial]) -> list[LinkedMaterial]:
    """One mention per material (same id, or same formula and space group)."""
    seen: set[tuple] = set()
    out = []
    for x in found:
        key = (x.material_id, x.formula, x.chemsys, x.spacegroup)
        if key not in seen:
            seen.add(key)
            out.append(x)
    return out


def _spacegroups(question: str, taken: list[tuple[int, int]]) -> list[tuple[tuple[int, int], int]]:
    """Space groups written as symbols (``P4_2/mnm``, ``P63mc``, ``Fd-3m``) or numbers (``space group 136``)."""
    out = [(m.span(), int(m.group(1))) for m in _SG_NUMBER.finditer(question) if 1 <= int(m.group(1)) <= 230]
    for m in _TOKEN.finditer(question):
        token = m.group()
        if any(s < m.end() and m.start() < e for s, e in taken + [span for span, _ in out]):
            continue
        number = spacegroup_number(token)
        if number is None:
            continue
        if _formula(token) and not _SG_CONTEXT.search(question[:m.start()]):
            continue  # "P1", "Cmcm" read as formulas unless written after "in" / "space group"
        out.append((m.span(), number))
    return out


@cache
def _symbols() -> dict[str, int]:
    from pymatgen.symmetry.groups import SpaceGroup

    table: dict[str, int] = {}
    for number in range(1, 231):
        symbol = SpaceGroup.from_int_number(number).symbol
        for variant in (symbol, symbol.replace("_", ""), symbol.replace(" ", "")):
            table.setdefault(variant.lower(), number)
    return table


def spacegroup_number(text: str) -> int | None:
    """The international number of a Hermann-Mauguin symbol (``P4_2/mnm``, ``P42/mnm``, ``P6₃mc``), or None.

    >>> spacegroup_number("P4_2/mnm"), spacegroup_number("P63mc"), spacegroup_number("GaN")
    (136, 186, None)
    """
    cleaned = text.strip().translate(str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")).replace(" ", "")
    if len(cleaned) < 2 or not re.match(r"^[PIFABCR]", cleaned):
        return None
    return _symbols().get(cleaned.lower())


@cache
def _element_names() -> dict[str, str]:
    names = {e.long_name.lower(): e.symbol for e in Element}
    names.update({"aluminium": "Al", "caesium": "Cs", "sulphur": "S"})
    return {k: v for k, v in names.items() if k not in _NOT_ELEMENT_NAMES}


def _formula(token: str) -> str | None:
    """The reduced formula of ``token`` when it is one, else None (English words and symbols are not)."""
    if token in _NOT_FORMULAS or not _FORMULA.match(token) or token.count("(") != token.count(")"):
        return None
    return _reduced(token)


def _reduced(text: str) -> str | None:
    try:
        composition = Composition(text)
    except Exception:  # noqa: BLE001 - pymatgen raises several types for what is not a formula
        return None
    if not composition.elements or any(not Element.is_valid_symbol(str(e)) for e in composition.elements):
        return None
    return composition.reduced_formula
