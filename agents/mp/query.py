"""The query parameters mp-api sends, per MP endpoint, turned into one SQL search over a snapshot.

Every filter is a function of the parameter's raw values (repeated and comma-separated forms
both arrive here) returning a SQL clause with its bound arguments; column names and JSON
paths come only from the tables below, never from a request.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agents.mp.documents import ENDPOINT_DOCS, HAS_PROPS, THERMO_TYPE, anonymous_formula, reduced_formula
from agents.mp.snapshot import COLUMNS
from matlas.errors import InvalidInput

__all__ = ["ENDPOINTS", "MAX_LIMIT", "Endpoint", "SearchResult", "search"]

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
Clause = tuple[str, list[Any]]
Filter = Callable[[list[str]], Clause]
_PATH_COLUMN = {path: name for name, (_, path) in COLUMNS.items()}


class BadParameter(InvalidInput):
    """A query parameter the endpoint does not know, or a value it cannot use (HTTP 400)."""

    status_code = 400


def _expr(path: str) -> str:
    return _PATH_COLUMN.get(path) or f"json_extract(doc, '{path}')"


def _csv(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _one(name: str, values: list[str]) -> str:
    if len(values) != 1:
        raise BadParameter(f"parameter '{name}' takes one value, got {len(values)}")
    return values[0]


def _number(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise BadParameter(f"parameter '{name}' must be a number, got {text!r}") from None


def _in(expr: str, items: list[Any]) -> Clause:
    return f"{expr} IN ({', '.join('?' * len(items))})", items


def any_of(path: str, normalize: Callable[[str], Any] = str) -> Filter:
    """Match documents whose ``path`` equals one of the comma-separated values."""
    return lambda values: _in(_expr(path), [normalize(v) for v in _csv(values)])


def flag(name: str, path: str) -> Filter:
    """``true``/``false`` against a boolean field (missing counts as false)."""
    def clause(values: list[str]) -> Clause:
        text = _one(name, values).lower()
        if text not in {"true", "false", "1", "0"}:
            raise BadParameter(f"parameter '{name}' must be true or false, got {text!r}")
        return f"coalesce({_expr(path)}, 0) = ?", [int(text in {"true", "1"})]
    return clause


def at_least(name: str, path: str) -> Filter:
    return lambda values: (f"{_expr(path)} >= ?", [_number(name, _one(name, values))])


def at_most(name: str, path: str) -> Filter:
    return lambda values: (f"{_expr(path)} <= ?", [_number(name, _one(name, values))])


def ranges(**paths: str) -> dict[str, Filter]:
    """``NAME_min`` / ``NAME_max`` filters for each ``NAME=path``."""
    out: dict[str, Filter] = {}
    for name, path in paths.items():
        out[f"{name}_min"] = at_least(f"{name}_min", path)
        out[f"{name}_max"] = at_most(f"{name}_max", path)
    return out


def contains_all(path: str) -> Filter:
    """Every listed value occurs in the JSON list at ``path`` (MP ``elements``)."""
    def clause(values: list[str]) -> Clause:
        items = _csv(values)
        sql = " AND ".join(f"EXISTS (SELECT 1 FROM json_each(doc, '{path}') WHERE value = ?)" for _ in items)
        return sql, items
    return clause


def contains_none(path: str) -> Filter:
    """No listed value occurs in the JSON list at ``path`` (MP ``exclude_elements``)."""
    def clause(values: list[str]) -> Clause:
        items = _csv(values)
        return f"NOT EXISTS (SELECT 1 FROM json_each(doc, '{path}') WHERE value IN ({', '.join('?' * len(items))}))", items
    return clause


def formula(values: list[str]) -> Clause:
    """Reduced formulas (``Fe4O6`` finds Fe2O3) or anonymous ones (``ABC3``), any of a list."""
    clauses, args = [], []
    for text in _csv(values):
        if (reduced := reduced_formula(text)) is not None:
            clauses.append(f"{_expr('$.formula_pretty')} = ?")
            args.append(reduced)
        elif (anonymous := anonymous_formula(text)) is not None:
            clauses.append(f"{_expr('$.formula_anonymous')} = ?")
            args.append(anonymous)
        else:
            raise BadParameter(f"cannot parse formula {text!r} (wildcards are not supported by the snapshot server)")
    return f"({' OR '.join(clauses)})", args


def chemsys(values: list[str]) -> Clause:
    """Chemical systems, element order free (``Li-Fe-O`` finds ``Fe-Li-O``)."""
    systems = []
    for text in _csv(values):
        elements = text.split("-")
        if "*" in elements or not all(re.fullmatch(r"[A-Z][a-z]?", e) for e in elements):
            raise BadParameter(f"cannot parse chemsys {text!r}; use dash-joined elements like Li-Fe-O")
        systems.append("-".join(sorted(elements)))
    return _in(_expr("$.chemsys"), systems)


def has_props(values: list[str]) -> Clause:
    """Every listed property is present (MP ``has_props``)."""
    props = _csv(values)
    if unknown := [p for p in props if p not in HAS_PROPS]:
        raise BadParameter(f"unknown has_props {unknown}; the snapshot serves {sorted(HAS_PROPS)}")
    return " AND ".join(f"json_extract(doc, '$.has_props.{p}') = 1" for p in props), []


def thermo_types(values: list[str]) -> Clause:
    """The snapshot holds one thermo type; other types match nothing."""
    return ("1", []) if THERMO_TYPE in _csv(values) else ("0", [])


def thermo_ids(values: list[str]) -> Clause:
    """``mp-149_GGA_GGA+U`` ids of the snapshot's thermo type."""
    suffix = f"_{THERMO_TYPE}"
    return _in("material_id", [t.removesuffix(suffix) for t in _csv(values) if t.endswith(suffix)])


def _synthesis_exists(inner: str) -> str:
    return f"EXISTS (SELECT 1 FROM json_each(doc, '$.operations') AS op {inner})"


def condition_value(name: str, key: str, bound: str) -> Filter:
    """A heating temperature (°C) or time (h) of some operation reaches ``bound`` ('min' or 'max')."""
    column, op = ("max_value", ">=") if bound == "min" else ("min_value", "<=")
    sql = _synthesis_exists(f", json_each(op.value, '$.conditions.{key}') AS c "
                            f"WHERE json_extract(c.value, '$.{column}') {op} ?")
    return lambda values: (sql, [_number(name, _one(name, values))])


def condition_any(key: str, is_list: bool) -> Filter:
    """Some operation's mixing device / media or heating atmosphere is one of the values (any case)."""
    inner = (f", json_each(op.value, '$.conditions.{key}') AS c WHERE lower(c.value)" if is_list
             else f"WHERE lower(json_extract(op.value, '$.conditions.{key}'))")

    def clause(values: list[str]) -> Clause:
        items = [v.lower() for v in _csv(values)]
        return _synthesis_exists(f"{inner} IN ({', '.join('?' * len(items))})"), items
    return clause


def listed_formula(path: str) -> Filter:
    """A reduced formula occurs in the JSON list at ``path`` (``targets_formula_s``)."""
    def clause(values: list[str]) -> Clause:
        text = _one(path, values)
        return f"EXISTS (SELECT 1 FROM json_each(doc, '{path}') WHERE value = ?)", [reduced_formula(text) or text]
    return clause


def one_of_choices(name: str, path: str, choices: tuple[str, ...], every: bool = False) -> Filter:
    """Values restricted to ``choices``; any one matches, or with ``every`` all must occur in a list."""
    def clause(values: list[str]) -> Clause:
        items = _csv(values)
        if bad := [v for v in items if v not in choices]:
            raise BadParameter(f"invalid {name} {bad}; choose from {list(choices)}")
        if not every:
            return _in(_expr(path), items)
        sql = " AND ".join(f"EXISTS (SELECT 1 FROM json_each(doc, '{path}') WHERE json_extract(value, '$.type') = ?)"
                           for _ in items)
        return sql, items
    return clause


_IDS = {"material_ids": any_of("$.material_id")}
_COMPOSITION = {"formula": formula, "chemsys": chemsys, "elements": contains_all("$.elements"),
                "exclude_elements": contains_none("$.elements")}
_SYMMETRY = {"crystal_system": any_of("$.symmetry.crystal_system", str.capitalize),
             "spacegroup_number": any_of("$.symmetry.number", int),
             "spacegroup_symbol": any_of("$.symmetry.symbol")}
_ELASTIC_RANGES = ranges(**{f"{m}_{avg}": f"$.{modulus}.{avg}" for m, modulus in (("k", "bulk_modulus"), ("g", "shear_modulus"))
                            for avg in ("voigt", "reuss", "vrh")})
_MAGNETIC_RANGES = ranges(**{k: f"$.{k}" for k in (
    "total_magnetization", "total_magnetization_normalized_vol", "total_magnetization_normalized_formula_units",
    "num_magnetic_sites", "num_unique_magnetic_sites")})
_DIELECTRIC_RANGES = ranges(**{k: f"$.{k}" for k in ("e_total", "e_ionic", "e_electronic", "n")})
_THERMO_RANGES = ranges(**{k: f"$.{k}" for k in (
    "energy_per_atom", "uncorrected_energy_per_atom", "formation_energy_per_atom", "energy_above_hull",
    "equilibrium_reaction_energy_per_atom")})
_OPERATION_TYPES = ("StartingSynthesis", "MixingOperation", "ShapingOperation", "DryingOperation",
                    "HeatingOperation", "QuenchingOperation")


@dataclass(frozen=True)
class Endpoint:
    """One MP route over a snapshot table: its filters and which rows it has documents for."""

    route: str
    table: str
    key: str
    filters: Mapping[str, Filter]
    present: str = "1"
    build: Callable[[dict], dict] | None = None
    default_fields: tuple[str, ...] | None = ("material_id", "formula_pretty")


def _materials(name: str, filters: Mapping[str, Filter], *, present: str = "1") -> Endpoint:
    return Endpoint(f"/materials/{name}/", "materials", "material_id", filters, present, ENDPOINT_DOCS[name])


def _has(prop: str) -> str:
    return f"json_extract(doc, '$.has_props.{prop}') = 1"


ENDPOINTS: dict[str, Endpoint] = {
    "summary": _materials("summary", {
        **_IDS, **_COMPOSITION, **_SYMMETRY, **_ELASTIC_RANGES, **_MAGNETIC_RANGES, **_DIELECTRIC_RANGES,
        **_THERMO_RANGES,
        **ranges(nsites="$.nsites", nelements="$.nelements", volume="$.volume", density="$.density",
                 band_gap="$.band_gap", efermi="$.efermi", universal_anisotropy="$.universal_anisotropy",
                 homogeneous_poisson="$.homogeneous_poisson", e_ij_max="$.e_ij_max",
                 weighted_surface_energy="$.weighted_surface_energy", weighted_work_function="$.weighted_work_function",
                 surface_anisotropy="$.surface_anisotropy", shape_factor="$.shape_factor"),
        **{k: flag(k, f"$.{k}") for k in ("deprecated", "is_stable", "is_gap_direct", "is_metal", "theoretical",
                                          "has_reconstructed")},
        "possible_species": contains_all("$.possible_species"), "ordering": any_of("$.ordering"),
        "has_props": has_props,
        "batch_id_not_eq": lambda values: ("coalesce(json_extract(doc, '$.batch_id'), '') != ?", [_one("batch_id_not_eq", values)]),
    }),
    "core": _materials("core", {
        **_IDS, **_COMPOSITION, **_SYMMETRY, "deprecated": flag("deprecated", "$.deprecated"),
        "task_ids": contains_all("$.task_ids"),
        **ranges(nsites="$.nsites", nelements="$.nelements", volume="$.volume", density="$.density"),
    }),
    "thermo": _materials("thermo", {
        **_IDS, "formula": formula, "chemsys": chemsys, "thermo_ids": thermo_ids, "thermo_types": thermo_types,
        "is_stable": flag("is_stable", "$.is_stable"), **ranges(nelements="$.nelements"), **_THERMO_RANGES,
    }, present=_has("thermo")),
    "elasticity": _materials("elasticity", {
        **_IDS, **_ELASTIC_RANGES,
        **ranges(elastic_anisotropy="$.universal_anisotropy", poisson="$.homogeneous_poisson"),
    }, present=_has("elasticity")),
    "magnetism": _materials("magnetism", {**_IDS, **_MAGNETIC_RANGES, "ordering": any_of("$.ordering")},
                            present=_has("magnetism")),
    "dielectric": _materials("dielectric", {**_IDS, **_DIELECTRIC_RANGES}, present=_has("dielectric")),
    "electronic_structure": _materials("electronic_structure", {
        **_IDS, **_COMPOSITION, **ranges(band_gap="$.band_gap", efermi="$.efermi", nelements="$.nelements"),
        "magnetic_ordering": any_of("$.ordering"), "is_gap_direct": flag("is_gap_direct", "$.is_gap_direct"),
        "is_metal": flag("is_metal", "$.is_metal"),
    }, present=_has("electronic_structure")),
    "synthesis": Endpoint("/materials/synthesis/", "synthesis", "recipe_id", {
        "synthesis_type": one_of_choices("synthesis_type", "$.synthesis_type", ("solid-state", "sol-gel")),
        "target_formula": listed_formula("$.targets_formula_s"),
        "precursor_formula": listed_formula("$.precursors_formula_s"),
        "operations": one_of_choices("operations", "$.operations", _OPERATION_TYPES, every=True),
        "condition_heating_temperature_min": condition_value("condition_heating_temperature_min", "heating_temperature", "min"),
        "condition_heating_temperature_max": condition_value("condition_heating_temperature_max", "heating_temperature", "max"),
        "condition_heating_time_min": condition_value("condition_heating_time_min", "heating_time", "min"),
        "condition_heating_time_max": condition_value("condition_heating_time_max", "heating_time", "max"),
        "condition_heating_atmosphere": condition_any("heating_atmosphere", is_list=True),
        "condition_mixing_device": condition_any("mixing_device", is_list=False),
        "condition_mixing_media": condition_any("mixing_media", is_list=False),
    }, default_fields=None),
}
CONTROL = ("_fields", "_all_fields", "_limit", "_skip", "_page", "_per_page", "_sort_fields")
_SORT_FIELD = re.compile(r"-?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")


@dataclass
class SearchResult:
    """One page of documents and how many match in all."""

    data: list[dict[str, Any]]
    total: int
    limit: int
    skip: int


def search(conn: sqlite3.Connection, endpoint: Endpoint, params: list[tuple[str, str]]) -> SearchResult:
    """Run the MP query ``params`` (as sent, repeated keys allowed) on ``endpoint``."""
    allowed = {*endpoint.filters, *CONTROL, *(("keywords",) if endpoint.table == "synthesis" else ())}
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        if name not in allowed:
            raise BadParameter(f"unknown parameter '{name}' for {endpoint.route}")
        grouped.setdefault(name, []).append(value)
    _check_ranges(grouped)

    clauses, args = [endpoint.present], []
    for name, values in grouped.items():
        if name in endpoint.filters:
            sql, filter_args = endpoint.filters[name](values)
            clauses.append(sql)
            args.extend(filter_args)
    source, source_args, score = endpoint.table, [], None
    if keywords := _csv(grouped.get("keywords", [])):
        match = " OR ".join('"' + k.replace('"', '""') + '"' for k in keywords)
        source = (f"{endpoint.table} JOIN (SELECT rowid AS fts_id, -bm25(synthesis_fts) AS score FROM synthesis_fts "
                  f"WHERE synthesis_fts MATCH ?) ON id = fts_id")
        source_args, score = [match], "score"

    limit, skip = _page(grouped)
    order = _order(grouped.get("_sort_fields", []), endpoint, score)
    where = " AND ".join(f"({c})" for c in clauses)
    total = conn.execute(f"SELECT count(*) FROM {source} WHERE {where}", source_args + args).fetchone()[0]
    rows = conn.execute(f"SELECT doc{', ' + score if score else ''} FROM {source} WHERE {where} "
                        f"ORDER BY {order} LIMIT ? OFFSET ?", source_args + args + [limit, skip]).fetchall()
    fields = _fields(grouped, endpoint)
    data = []
    for row in rows:
        doc = json.loads(row[0])
        doc = endpoint.build(doc) if endpoint.build else doc
        if score:
            doc["search_score"] = round(row[1], 4)
        data.append(_project(doc, fields) if fields is not None else doc)
    return SearchResult(data=data, total=total, limit=limit, skip=skip)


def _check_ranges(grouped: dict[str, list[str]]) -> None:
    for name, values in grouped.items():
        if name.endswith("_min") and (upper := grouped.get(name.removesuffix("_min") + "_max")):
            low, high = _number(name, values[-1]), _number(name, upper[-1])
            if low > high:
                raise BadParameter(f"empty range for {name.removesuffix('_min')}: min {low:g} > max {high:g}")


def _integer(name: str, values: list[str] | None, default: int, low: int, high: int | None = None) -> int:
    if not values:
        return default
    text = _one(name, values)
    try:
        number = int(text)
    except ValueError:
        raise BadParameter(f"parameter '{name}' must be an integer, got {text!r}") from None
    if number < low or (high is not None and number > high):
        raise BadParameter(f"parameter '{name}' must be in [{low}, {high if high is not None else '∞'}], got {number}")
    return number


def _page(grouped: dict[str, list[str]]) -> tuple[int, int]:
    limit = _integer("_limit", grouped.get("_limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
    if "_page" in grouped:
        per_page = _integer("_per_page", grouped.get("_per_page"), limit, 1, MAX_LIMIT)
        return per_page, (_integer("_page", grouped["_page"], 1, 1) - 1) * per_page
    return limit, _integer("_skip", grouped.get("_skip"), 0, 0)


def _order(values: list[str], endpoint: Endpoint, score: str | None) -> str:
    terms = [f"{score} DESC"] if score else []
    for name in _csv(values):
        if not _SORT_FIELD.fullmatch(name):
            raise BadParameter(f"cannot sort on {name!r}")
        path = "$." + name.lstrip("-")
        terms.append(f"{_expr(path)} {'DESC' if name.startswith('-') else 'ASC'}")
    return ", ".join([*terms, endpoint.key])


def _fields(grouped: dict[str, list[str]], endpoint: Endpoint) -> list[str] | None:
    """Fields to return: ``_fields``, or all with ``_all_fields=true``, else the endpoint's defaults."""
    if requested := _csv(grouped.get("_fields", [])):
        return requested
    if "_all_fields" in grouped and _one("_all_fields", grouped["_all_fields"]).lower() in {"true", "1"}:
        return None
    return list(endpoint.default_fields) if endpoint.default_fields else None


def _project(doc: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """Keep only ``fields`` (dotted paths keep nested keys), like a MongoDB projection."""
    out: dict[str, Any] = {}
    for name in fields:
        source, target, parts = doc, out, name.split(".")
        for part in parts[:-1]:
            if not isinstance(source.get(part), dict):
                break
            source, target = source[part], target.setdefault(part, {})
        else:
            if parts[-1] in source:
                target[parts[-1]] = source[parts[-1]]
    return out
