"""Filters: one MP query parameter's raw values -> a SQL clause with its bound arguments.

Repeated (``a=x&a=y``) and comma-separated (``a=x,y``) forms both arrive as a list of strings;
column names and JSON paths come only from the code, never from a request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from math import gcd
from typing import Any

from emmet.core.types.enums import ThermoType
from emmet.core.vasp.calc_types import RunType

from agents.mp.documents import (
    HAS_PROPS,
    THERMO_TYPE,
    anonymous_formula,
    reduced_formula,
)
from agents.mp.snapshot import COLUMNS
from matlas.errors import InvalidInput

THERMO_TYPES = frozenset(t.value for t in (*ThermoType, *RunType)) - {"UNKNOWN"}
"""What MP's ``thermo_type`` may hold: a mixing scheme (``GGA_GGA+U``) or one run type (``r2SCAN``)."""
Clause = tuple[str, list[Any]]
Filter = Callable[[list[str]], Clause]
_PATH_COLUMN = {"$.material_id": "material_id"} | {
    path: name for name, (_, path) in COLUMNS.items()
}


class BadParameter(InvalidInput):
    """A query parameter the endpoint does not know, or a value it cannot use (HTTP 400)."""

    status_code = 400


def sql_expr(path: str) -> str:
    """The generated column holding ``path``, else ``json_extract`` of it."""
    return _PATH_COLUMN.get(path) or f"json_extract(doc, '{path}')"


def split_values(values: list[str]) -> list[str]:
    """Repeated and comma-separated values as one list."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def single(name: str, values: list[str]) -> str:
    """The one value of a parameter that takes one."""
    if len(values) != 1:
        raise BadParameter(f"parameter '{name}' takes one value, got {len(values)}")
    return values[0]


def number(name: str, text: str) -> float:
    """A numeric parameter value."""
    try:
        return float(text)
    except ValueError:
        raise BadParameter(f"parameter '{name}' must be a number, got {text!r}") from None


def _marks(items: list[Any]) -> str:
    return ", ".join("?" * len(items))


def _in(expr: str, items: list[Any]) -> Clause:
    return f"{expr} IN ({_marks(items)})", items


def any_of(path: str, normalize: Callable[[str], Any] = str) -> Filter:
    """Match documents whose ``path`` equals one of the comma-separated values."""
    return lambda values: _in(sql_expr(path), [normalize(v) for v in split_values(values)])


def flags(names: str, *, missing_is_false: bool = False) -> dict[str, Filter]:
    """A ``true``/``false`` filter for each top-level boolean field in ``names``."""
    return {name: flag(name, f"$.{name}", missing_is_false) for name in names.split()}


def flag(name: str, path: str, missing_is_false: bool = False) -> Filter:
    """``true``/``false`` against a boolean field. As on MP, a document without the value matches
    neither (``is_metal=false`` finds the known non-metals, not the unknown); ``missing_is_false``
    for fields every served document carries as false when unset (``deprecated``)."""

    def clause(values: list[str]) -> Clause:
        text = single(name, values).lower()
        if text not in {"true", "false", "1", "0"}:
            raise BadParameter(f"parameter '{name}' must be true or false, got {text!r}")
        expr = f"coalesce({sql_expr(path)}, 0)" if missing_is_false else sql_expr(path)
        return f"{expr} = ?", [int(text in {"true", "1"})]

    return clause


def at_least(name: str, path: str) -> Filter:
    return lambda values: (f"{sql_expr(path)} >= ?", [number(name, single(name, values))])


def at_most(name: str, path: str) -> Filter:
    return lambda values: (f"{sql_expr(path)} <= ?", [number(name, single(name, values))])


def ranges(names: str = "", **paths: str) -> dict[str, Filter]:
    """``NAME_min`` / ``NAME_max`` filters per top-level field in ``names`` and ``NAME=path``."""
    out: dict[str, Filter] = {}
    for name, path in ({n: f"$.{n}" for n in names.split()} | paths).items():
        out[f"{name}_min"] = at_least(f"{name}_min", path)
        out[f"{name}_max"] = at_most(f"{name}_max", path)
    return out


def contains_all(path: str) -> Filter:
    """Every listed value occurs in the JSON list at ``path`` (MP ``elements``)."""

    def clause(values: list[str]) -> Clause:
        items = split_values(values)
        sql = " AND ".join(
            f"EXISTS (SELECT 1 FROM json_each(doc, '{path}') WHERE value = ?)" for _ in items
        )
        return sql, items

    return clause


def contains_none(path: str) -> Filter:
    """No listed value occurs in the JSON list at ``path`` (MP ``exclude_elements``)."""

    def clause(values: list[str]) -> Clause:
        items = split_values(values)
        sql = (
            f"NOT EXISTS (SELECT 1 FROM json_each(doc, '{path}') WHERE value IN ({_marks(items)}))"
        )
        return sql, items

    return clause


_WILD_TERM = re.compile(r"([A-Z][a-z]?|\*)(\d*)")


def _wild_terms(text: str) -> list[tuple[str, int]] | None:
    """``*2O3`` -> ``[("*", 2), ("O", 3)]`` (integer amounts), None unless a wildcard formula."""
    terms = _WILD_TERM.findall(text)
    if "*" not in text or "".join(s + n for s, n in terms) != text:
        return None
    return [(symbol, int(n or 1)) for symbol, n in terms]


def formula_matches(formula_pretty: str | None, pattern: str) -> bool:
    """Whether a reduced formula fits a wildcard formula: each ``*`` is one other element, amounts
    in the same proportion (``*2O3`` fits Fe2O3 and Al2O3, not FeO or Fe2S3).

    >>> formula_matches("Fe2O3", "*2O3"), formula_matches("Fe2O3", "*4O6"), formula_matches("FeO", "*2O3")
    (True, True, False)
    """
    terms = _wild_terms(pattern)
    if not formula_pretty or terms is None:
        return False
    amounts = {el: int(n or 1) for el, n in _ANY_TERM.findall(formula_pretty)}
    if len(amounts) != len(terms) or len({s for s, _ in terms if s != "*"}) != sum(
        s != "*" for s, _ in terms
    ):
        return False
    want_gcd, have_gcd = gcd(*(n for _, n in terms)), gcd(*amounts.values())
    named = {s: n // want_gcd for s, n in terms if s != "*"}
    if any(amounts.get(el, 0) // have_gcd != n or el not in amounts for el, n in named.items()):
        return False
    wild = sorted(n // want_gcd for s, n in terms if s == "*")
    rest = sorted(n // have_gcd for el, n in amounts.items() if el not in named)
    return wild == rest


_ANY_TERM = re.compile(r"([A-Z][a-z]?)(\d*)")


def formula(values: list[str]) -> Clause:
    """Reduced formulas (``Fe4O6`` finds Fe2O3), anonymous ones (``ABC3``) or wildcard ones
    (``*2O3``: one other element per ``*``), any of a list."""
    clauses, args = [], []
    for text in split_values(values):
        if (terms := _wild_terms(text)) is not None:
            clauses.append(f"({sql_expr('$.nelements')} = ? AND "
                           f"formula_matches({sql_expr('$.formula_pretty')}, ?))")
            args += [len(terms), text]
        elif (reduced := reduced_formula(text)) is not None:
            clauses.append(f"{sql_expr('$.formula_pretty')} = ?")
            args.append(reduced)
        elif (anonymous := anonymous_formula(text)) is not None:
            clauses.append(f"{sql_expr('$.formula_anonymous')} = ?")
            args.append(anonymous)
        else:
            raise BadParameter(
                f"cannot parse formula {text!r}; write e.g. Fe2O3, ABC3 or *2O3"
            )
    return f"({' OR '.join(clauses)})", args


def chemsys(values: list[str]) -> Clause:
    """Chemical systems, element order free (``Li-Fe-O`` finds ``Fe-Li-O``); ``*`` stands for
    any one other element (``Li-*-O``: ternaries with Li and O)."""
    exact, clauses, args = [], [], []
    for text in split_values(values):
        elements = text.split("-")
        named = [e for e in elements if e != "*"]
        if not all(re.fullmatch(r"[A-Z][a-z]?", e) for e in named) or len(set(named)) != len(named):
            raise BadParameter(
                f"cannot parse chemsys {text!r}; use dash-joined elements like Li-Fe-O or Li-*-O"
            )
        if len(named) == len(elements):
            exact.append("-".join(sorted(elements)))
            continue
        sql, items = contains_all("$.elements")(named) if named else ("1", [])
        clauses.append(f"({sql_expr('$.nelements')} = ? AND {sql})")
        args += [len(elements), *items]
    if exact:
        sql, items = _in(sql_expr("$.chemsys"), exact)
        clauses.insert(0, sql)
        args[:0] = items
    return f"({' OR '.join(clauses)})", args


def has_prop(prop: str) -> str:
    """SQL: the material has documents on endpoint ``prop`` (``has_props`` is stored at import)."""
    return f"{sql_expr(f'$.has_props.{prop}')} = 1"


def has_props(values: list[str]) -> Clause:
    """Every listed property is present (MP ``has_props``)."""
    props = split_values(values)
    if unknown := [p for p in props if p not in HAS_PROPS]:
        raise BadParameter(f"unknown has_props {unknown}; the snapshot serves {sorted(HAS_PROPS)}")
    return " AND ".join(has_prop(p) for p in props), []


def thermo_types(values: list[str]) -> Clause:
    """MP's thermo types (``GGA_GGA+U``, ``GGA_GGA+U_R2SCAN``, ``R2SCAN``, ``r2SCAN`` ...); the
    snapshot holds ``GGA_GGA+U`` only, so the others are valid and match nothing. Unknown types
    are refused."""
    types = split_values(values)
    if bad := [t for t in types if t not in THERMO_TYPES]:
        raise BadParameter(f"invalid thermo_types {bad}; choose from {sorted(THERMO_TYPES)}")
    return ("1", []) if THERMO_TYPE in types else ("0", [])


def thermo_ids(values: list[str]) -> Clause:
    """``mp-149_GGA_GGA+U`` (or ``mp-149-GGA_GGA+U``) ids of the snapshot's thermo type."""
    ids = []
    for text in split_values(values):
        for sep in ("_", "-"):
            if text.endswith(f"{sep}{THERMO_TYPE}"):
                ids.append(text.removesuffix(f"{sep}{THERMO_TYPE}"))
    return _in("material_id", ids)


def _synthesis_exists(inner: str) -> str:
    return f"EXISTS (SELECT 1 FROM json_each(doc, '$.operations') AS op {inner})"


def condition_value(name: str, key: str, bound: str) -> Filter:
    """Some heating temperature (°C) or time (h) reaches the ``bound`` ('min' or 'max')."""
    column, op = ("max_value", ">=") if bound == "min" else ("min_value", "<=")
    sql = _synthesis_exists(
        f", json_each(op.value, '$.conditions.{key}') AS c "
        f"WHERE json_extract(c.value, '$.{column}') {op} ?"
    )
    return lambda values: (sql, [number(name, single(name, values))])


def condition_any(key: str, is_list: bool) -> Filter:
    """Some mixing device / media or heating atmosphere is one of the values (case-sensitive, as
    MP: ``zirconia`` does not find ``Zirconia``)."""
    inner = (
        f", json_each(op.value, '$.conditions.{key}') AS c WHERE c.value"
        if is_list
        else f"WHERE json_extract(op.value, '$.conditions.{key}')"
    )

    def clause(values: list[str]) -> Clause:
        items = split_values(values)
        return _synthesis_exists(f"{inner} IN ({_marks(items)})"), items

    return clause


def listed_formula(name: str, path: str) -> Filter:
    """A reduced formula occurs in the JSON list at ``path`` (``targets_formula_s``)."""
    sql = f"EXISTS (SELECT 1 FROM json_each(doc, '{path}') WHERE value = ?)"

    def clause(values: list[str]) -> Clause:
        text = single(name, values)
        return sql, [reduced_formula(text) or text]

    return clause


def one_of_choices(name: str, path: str, choices: tuple[str, ...], every: bool = False) -> Filter:
    """Values among ``choices``; any one matches, or with ``every`` all must occur in a list."""

    def clause(values: list[str]) -> Clause:
        items = split_values(values)
        if bad := [v for v in items if v not in choices]:
            raise BadParameter(f"invalid {name} {bad}; choose from {list(choices)}")
        if not every:
            return _in(sql_expr(path), items)
        exists = (
            f"EXISTS (SELECT 1 FROM json_each(doc, '{path}') "
            "WHERE json_extract(value, '$.type') = ?)"
        )
        sql = " AND ".join(exists for _ in items)
        return sql, items

    return clause
