"""Grounding check of a final answer: every number it states must come from a tool result of the turn.

What counts as a number in the answer:

- integers, decimals, thousands separators (``1,200``), scientific notation (``1.2e-5``,
  ``1.2 × 10^-5``, ``1.2×10⁻⁵``, ``10^-5``), with or without a unit (``1.1 eV``, ``300K``, ``12.5%``);
- not digits inside identifiers and formulas: a number right after a letter, ``_``, ``^`` or ``)``,
  or after a letter and a hyphen, is part of a token (``Fe2O3``, ``Li(PO4)2``, ``mp-149``,
  ``Fd-3m``, ``P6_3mc``, ``Å^3``); nor a stoichiometric coefficient glued to a formula (``2FePO4``);
- not URLs, DOIs, ``artifact://`` handles, ids cited in square brackets (``[mp-149]``, ``[4983]``),
  nor list markers at the start of a line (``1.``, ``2)``);
- not bare years (integers 1900-2100) nor bare small counts (integers 0-10): "bare" means with no
  decimal point and no unit, so ``300 K`` and ``2.0`` are always checked.

A number written with ``d`` decimals (``e`` exponent) is grounded when some tool number lies within
half a unit of its last digit, ``0.5·10^(e-d)``: it is a rounding of that value (``1.12`` and ``1.1``
ground 1.1234, ``83 GPa`` grounds 83.0113; ``3.4`` does not ground 1.12, nor ``1.1234`` a tool's
``1.12``). Signs count: ``-0.65`` needs a negative tool value, and an unsigned number a positive one
unless a sign word stands next to it ("0.5 eV/atom below the hull", "negative", "minus"). Units
count where both sides have one: a tool result's ``units`` map gives its JSON numbers theirs, a
number in a tool string carries the unit written after it; ``1.57 GPa`` is not grounded by a band
gap of 1.57 eV, ``651 meV/atom`` is by 0.651 eV/atom. A percentage also matches its fraction
(``13.2%`` grounds 0.1321). Tool numbers are every JSON number, and every number in a string, of the
tool results; callers pass only successful results (an error that echoes the model's own arguments
grounds nothing), plus the user's words and earlier grounded turns when those may be cited.

Ids: MP ids (``mp-149``, ``mvc-12``) anywhere in the answer and ids cited in square brackets are
mentions; ids that tools returned (MP ids anywhere in their text, and the values of ``id``-like keys
such as ``material_id`` or ``recipe_id``) are known. ``citations`` lists the known ids the answer
names (an all-digit document id only when cited in brackets), ``unknown_ids`` the mentions no tool
returned.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from pymatgen.core.periodic_table import Element

__all__ = ["GroundingReport", "check_grounding", "states_value", "value_spans"]

_ELEMENTS = frozenset(e.symbol for e in Element)

_ID_KEYS = frozenset({"id", "_id", "doc_id", "document_id", "material_id", "recipe_id", "task_id"})
_MP_ID = re.compile(r"(?<![\w-])(?:mp|mvc)-\d+(?![\w-])")
_BRACKETS = re.compile(r"\[([^\[\]\n]{1,200})\]")
_CITED_ID = re.compile(r"^[\w.:/-]+$")
_DECIMAL = re.compile(r"^[-+]?\d*\.\d+$")
_MASKED = re.compile(
    r"https?://\S+|artifact://\S+|\b10\.\d{4,9}/[^\s\]\)>,;]+"  # URLs, handles, DOIs
    r"|^[ \t]*\d{1,3}[.)](?=\s)",  # list markers
    re.MULTILINE,
)
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUPERSCRIPT_DIGITS = "[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+"
_NUMBER = re.compile(
    r"(?P<sign>[-+])?(?:"
    rf"10(?:(?:\^|\*\*)(?P<pexp>[-+]?\d+)|(?P<psup>{_SUPERSCRIPT_DIGITS}))"  # 10^-5, 10⁻⁵
    r"|(?P<mant>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"  # 1,200.5  1.12  .5
    r"(?:[eE](?P<eexp>[-+]?\d+)"  # 1.2e-5
    rf"|\s?[×x·*]\s?10(?:(?:\^|\*\*)(?P<xexp>[-+]?\d+)|(?P<xsup>{_SUPERSCRIPT_DIGITS})))?"  # 1.2 × 10^-5
    r")"
)
_UNIT = re.compile(
    r"\s?(?P<unit>%|°C|℃|°|eV/atom|meV/atom|eV|meV|GPa|MPa|kPa|Pa|kbar|bar|Å\^[23]|Å³|Å²|Å|nm|pm"
    r"|g/cm\^3|g/cm³|g/cm3|μB|µB|mu_B|K|C|h|hr|hours?|min|minutes?|s|days?)(?![\w])"
)
_SIGN_WORDS = re.compile(r"negative|minus|below|under the hull|exothermic|released|lower by|\bdown\b", re.IGNORECASE)
# unit as written -> (dimension, factor to the dimension's base unit)
_CANON: dict[str, tuple[str, float]] = {
    "eV": ("eV", 1.0), "meV": ("eV", 1e-3), "eV/atom": ("eV/atom", 1.0), "meV/atom": ("eV/atom", 1e-3),
    "GPa": ("Pa", 1e9), "MPa": ("Pa", 1e6), "kPa": ("Pa", 1e3), "Pa": ("Pa", 1.0), "kbar": ("Pa", 1e8),
    "bar": ("Pa", 1e5), "Å": ("Å", 1.0), "nm": ("Å", 10.0), "pm": ("Å", 0.01), "Å^3": ("Å3", 1.0), "Å³": ("Å3", 1.0),
    "Å^2": ("Å2", 1.0), "Å²": ("Å2", 1.0), "g/cm^3": ("g/cm3", 1.0), "g/cm³": ("g/cm3", 1.0), "g/cm3": ("g/cm3", 1.0),
    "K": ("K", 1.0), "°C": ("C", 1.0), "℃": ("C", 1.0), "C": ("C", 1.0), "h": ("h", 1.0), "hr": ("h", 1.0),
    "hour": ("h", 1.0), "hours": ("h", 1.0), "min": ("h", 1 / 60), "minute": ("h", 1 / 60),
    "minutes": ("h", 1 / 60), "μB": ("μB", 1.0), "µB": ("μB", 1.0), "mu_B": ("μB", 1.0),
}
_FORMULA_START = re.compile(r"\(?([A-Z][a-z]?)(?:\d|\(|[A-Z])")


class GroundingReport(BaseModel):
    """Which numbers and ids of an answer the turn's tool results support."""

    grounded: bool = Field(description="True when every checked number of the answer came from a tool result.")
    checked: int = Field(description="How many numbers of the answer were checked.")
    ungrounded: list[str] = Field(description="Numbers of the answer (as written, with unit) no tool returned.")
    citations: list[str] = Field(description="MP ids and document ids named in the answer that tools returned.")
    unknown_ids: list[str] = Field(description="Ids the answer names (MP ids, bracketed citations) no tool returned.")


@dataclass(frozen=True)
class _ToolNumber:
    value: float  # signed, in the base unit of its dimension
    dimension: str | None  # None: unit unknown


@dataclass(frozen=True)
class _Number:
    value: float  # magnitude
    half_ulp: float  # half a unit in the last written digit
    text: str  # as written, with its unit
    unit: str
    integer: bool  # written without a decimal point or exponent
    negative: bool = False  # written with a minus sign
    signed_by_words: bool = False  # a sign word stands next to it


def check_grounding(answer: str, tool_outputs: Sequence[str | dict[str, Any]]) -> GroundingReport:
    """Check the numbers and ids of ``answer`` against the tool results of its turn (rules above)."""
    values: list[_ToolNumber] = []
    known: set[str] = set()
    for output in tool_outputs:
        for text, unit in _texts(output, known):
            known.update(_MP_ID.findall(text))
            for n in _numbers(text):
                dimension, factor = _CANON.get(n.unit or unit or "", (None, 1.0))
                values.append(_ToolNumber(-n.value * factor if n.negative else n.value * factor, dimension))
    cited = _bracket_ids(answer)
    claims = [n for n in _numbers(_mask(answer, cited)) if _is_claim(n)]
    ungrounded = list(dict.fromkeys(n.text for n in claims if not _supported(n, values)))
    mentioned = list(dict.fromkeys(_MP_ID.findall(answer) + cited))
    named = {i: p for i in known if (i in cited or not i.isdigit()) and (p := _position(answer, i)) is not None}
    citations = sorted(named, key=named.__getitem__)
    return GroundingReport(
        grounded=not ungrounded,
        checked=len(claims),
        ungrounded=ungrounded,
        citations=citations,
        unknown_ids=[i for i in mentioned if i not in known],
    )


def _texts(output: str | dict[str, Any] | list[Any], known: set[str]) -> Iterator[tuple[str, str | None]]:
    """The scalars of one tool result as text (JSON numbers kept exact) with the unit its ``units`` map gives
    them; ``id``-like values go to ``known``."""
    if isinstance(output, str):
        try:
            output = json.loads(output)
        except ValueError:
            yield output, None
            return
    units = output.get("units") if isinstance(output, dict) and isinstance(output.get("units"), dict) else {}
    stack: list[tuple[Any, str | None]] = [(output, None)]
    while stack:
        item, unit = stack.pop()
        if isinstance(item, dict):
            known.update(str(v) for k, v in item.items() if k in _ID_KEYS and isinstance(v, (str, int)) and str(v))
            stack.extend((v, units.get(k, unit) if k != "units" else None) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, unit) for v in item)
        elif isinstance(item, (int, float)) and not isinstance(item, bool) and math.isfinite(item):
            yield repr(item), unit if unit in _CANON else None
        elif isinstance(item, str):
            yield item, None


def _bracket_ids(answer: str) -> list[str]:
    """Ids cited in square brackets: ``[mp-149]``, ``[4983; doc-7]`` (not decimals like ``[1.5]``)."""
    ids = []
    for group in _BRACKETS.findall(answer):
        items = [s.strip() for s in re.split(r"[,;]", group)]
        if all(_CITED_ID.match(s) and not _DECIMAL.match(s) for s in items):
            ids.extend(items)
    return ids


def _mask(answer: str, cited: list[str]) -> str:
    """``answer`` with URLs, DOIs, handles, list markers and bracketed ids blanked out."""
    text = _MASKED.sub(lambda m: " " * len(m.group()), answer)
    cited_set = set(cited)

    def blank_citation(m: re.Match[str]) -> str:
        items = {s.strip() for s in re.split(r"[,;]", m.group(1))}
        return " " * len(m.group()) if items <= cited_set else m.group()

    return _BRACKETS.sub(blank_citation, text)


def _numbers(text: str) -> Iterator[_Number]:
    """Every number of ``text`` that is not part of an identifier or formula."""
    for number, _ in _spanned(text):
        yield number


def _spanned(text: str) -> Iterator[tuple[_Number, tuple[int, int]]]:
    """``_numbers`` of ``text`` with where each stands in it, unit included."""
    text = text.replace("−", "-")
    for m in _NUMBER.finditer(text):
        if _inside_token(text, m):
            continue
        if m.group("mant") is None:
            mantissa, exponent, decimals = "1", _exponent(m), 0
        else:
            mantissa = m.group("mant").replace(",", "")
            exponent = _exponent(m)
            decimals = len(mantissa.partition(".")[2])
        unit_match = _UNIT.match(text, m.end())
        written = m.group().lstrip("+-").strip()
        near = text[max(0, m.start() - 30):m.start()] + " " + text[m.end():m.end() + 30]
        yield _Number(
            negative=m.group("sign") == "-", signed_by_words=bool(_SIGN_WORDS.search(near)),
            value=abs(float(mantissa) * 10.0**exponent),
            half_ulp=0.5 * 10.0 ** (exponent - decimals),
            text=written + (unit_match.group() if unit_match else ""),
            unit=unit_match.group("unit") if unit_match else "",
            integer=m.group("mant") is not None and "." not in mantissa and m.end("mant") == m.end(),
        ), (m.start(), unit_match.end() if unit_match else m.end())


def _exponent(m: re.Match[str]) -> int:
    """The power of ten of a number match (``e-5``, ``^-5``, ``⁻⁵``); 0 when it has none."""
    for group in ("pexp", "eexp", "xexp", "psup", "xsup"):
        if m.group(group):
            return int(m.group(group).translate(_SUPERSCRIPTS))
    return 0


def _inside_token(text: str, m: re.Match[str]) -> bool:
    """Whether the number ``m`` is part of an identifier, formula or space group, not a quantity."""
    start = m.start("mant") if m.group("mant") is not None else m.end("sign") if m.group("sign") else m.start()
    before = text[start - 1] if start else " "
    if before.isalpha() or before in "_^)":
        return True
    if before in "-/" and start >= 2 and text[start - 2].isalpha():
        return True
    formula = _FORMULA_START.match(text, m.end())
    return formula is not None and formula.group(1) in _ELEMENTS


def _is_claim(number: _Number) -> bool:
    """Numbers the grounding check holds an answer to (bare years and small counts are not)."""
    if number.unit or not number.integer:
        return True
    return not (number.value <= 10 or 1900 <= number.value <= 2100)


def _supported(number: _Number, values: list[_ToolNumber]) -> bool:
    """Whether some tool value rounds to ``number`` at its written precision, with its sign and unit."""
    dimension, factor = _CANON.get(number.unit, (None, 1.0))
    targets = [(number.value, number.half_ulp, 1.0)]
    if number.unit == "%":
        targets.append((number.value / 100, number.half_ulp / 100, 1.0))
    signs = (-1.0,) if number.negative else (1.0, -1.0) if number.signed_by_words else (1.0,)
    for tool in values:
        if dimension is not None and tool.dimension is not None and tool.dimension != dimension:
            continue
        scale = factor if dimension is not None and tool.dimension is not None else 1.0
        for target, half_ulp, _ in targets:
            target, half_ulp = target * scale, half_ulp * scale
            tolerance = half_ulp * (1 + 1e-9) + 1e-12 * target
            if any(abs(sign * target - tool.value) <= tolerance for sign in signs):
                return True
    return False


def states_value(answer: str, value: float) -> bool:
    """Whether ``answer`` states ``value`` (a rounding of it, sign included), outside ids and formulas.

    >>> states_value("The band gap of GaN is 1.57 eV [mp-830].", 1.5712), states_value("GaN: 1.6 eV", 1.5)
    (True, False)
    """
    tool = [_ToolNumber(value, None)]
    return any(_supported(n, tool) for n in _numbers(_mask(answer, _bracket_ids(answer))))


def value_spans(answer: str, value: float) -> list[tuple[int, int]]:
    """Where ``answer`` states ``value`` (as ``states_value`` reads it): ``(start, end)`` of each mention,
    its unit included.

    >>> value_spans("GaN: 1.57 eV, GaAs 1.5 eV", 1.5712)
    [(5, 12)]
    """
    tool = [_ToolNumber(value, None)]
    return [span for n, span in _spanned(_mask(answer, _bracket_ids(answer))) if _supported(n, tool)]


def _position(answer: str, identifier: str) -> int | None:
    """Where ``identifier`` first appears in ``answer`` as a whole token, or None."""
    m = re.search(rf"(?<![\w-]){re.escape(identifier)}(?![\w-])", answer)
    return m.start() if m else None
