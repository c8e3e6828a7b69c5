"""MP endpoints over the snapshot tables, and one search: query parameters -> a page of documents.

Each endpoint lists the query parameters mp-api sends to it (``agents.mp.filters`` turns each into
SQL) and which snapshot rows it has documents for.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from emmet.core.synthesis import OperationTypeEnum, SynthesisTypeEnum
from pydantic import BaseModel

from agents.mp.documents import ENDPOINT_DOCS, highlights, synthesis_doc
from agents.mp.filters import (
    BadParameter,
    Filter,
    any_of,
    chemsys,
    condition_any,
    condition_value,
    contains_all,
    contains_none,
    flags,
    formula,
    formula_matches,
    has_prop,
    has_props,
    listed_formula,
    number,
    one_of_choices,
    ranges,
    single,
    split_values,
    sql_expr,
    thermo_ids,
    thermo_types,
)
from agents.mp.routes import client_routes, empty_collections, model_fields, route_model

__all__ = ["ENDPOINTS", "MAX_LIMIT", "Endpoint", "SearchResult", "search"]

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


_IDS = {"material_ids": any_of("$.material_id")}
_COMPOSITION = {
    "formula": formula,
    "chemsys": chemsys,
    "elements": contains_all("$.elements"),
    "exclude_elements": contains_none("$.elements"),
}
_SYMMETRY = {
    "crystal_system": any_of("$.symmetry.crystal_system", str.capitalize),
    "spacegroup_number": any_of("$.symmetry.number", int),
    "spacegroup_symbol": any_of("$.symmetry.symbol"),
}
_ELASTIC_RANGES = ranges(
    **{
        f"{m}_{avg}": f"$.{modulus}.{avg}"
        for m, modulus in (("k", "bulk_modulus"), ("g", "shear_modulus"))
        for avg in ("voigt", "reuss", "vrh")
    }
)
_MAGNETIC_RANGES = ranges(
    "total_magnetization total_magnetization_normalized_vol num_magnetic_sites "
    "total_magnetization_normalized_formula_units num_unique_magnetic_sites"
)
_DIELECTRIC_RANGES = ranges("e_total e_ionic e_electronic n")
_THERMO_RANGES = ranges(
    "energy_per_atom uncorrected_energy_per_atom formation_energy_per_atom energy_above_hull "
    "equilibrium_reaction_energy_per_atom"
)
_SIZE_RANGES = ranges("nsites nelements volume density")


def _values(enum: type[Enum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


@dataclass(frozen=True)
class Endpoint:
    """One MP route: over a snapshot table (its filters, which rows it has documents for), or,
    with ``table`` None, a route whose data no snapshot holds (every search is empty)."""

    route: str
    table: str | None
    key: str
    filters: Mapping[str, Filter]
    present: str = "1"
    build: Callable[[dict], dict] = dict
    default_fields: tuple[str, ...] | None = ("material_id", "formula_pretty")
    fts: str | None = None  # full-text table behind ``keywords``, its rowid the table's ``id``

    @property
    def model(self) -> type[BaseModel] | None:
        """The client's document model of the route (imported on first use)."""
        return route_model(self.route)

    @property
    def fields(self) -> frozenset[str]:
        """Field names a document of this route may have (sortable, projectable)."""
        return model_fields(self.model) | set(self.filters) | {self.key}


def _materials(name: str, filters: Mapping[str, Filter], *, present: str = "1") -> Endpoint:
    route = f"/materials/{name}/"
    return Endpoint(
        route, "materials", "material_id", filters, present, ENDPOINT_DOCS[name])


ENDPOINTS: dict[str, Endpoint] = {
    "summary": _materials(
        "summary",
        {
            **_IDS,
            **_COMPOSITION,
            **_SYMMETRY,
            **_ELASTIC_RANGES,
            **_MAGNETIC_RANGES,
            **_DIELECTRIC_RANGES,
            **_THERMO_RANGES,
            **_SIZE_RANGES,
            **ranges(
                "band_gap efermi universal_anisotropy homogeneous_poisson e_ij_max "
                "weighted_surface_energy weighted_work_function surface_anisotropy shape_factor"
            ),
            **flags("deprecated", missing_is_false=True),
            **flags("is_stable is_gap_direct is_metal theoretical has_reconstructed"),
            "possible_species": contains_all("$.possible_species"),
            "ordering": any_of("$.ordering"),
            "has_props": has_props,
            "batch_id": any_of("$.batch_id"),
            "batch_id_not_eq": lambda values: (
                "coalesce(json_extract(doc, '$.batch_id'), '') != ?",
                [single("batch_id_not_eq", values)],
            ),
        },
    ),
    "core": _materials(
        "core",
        {
            **_IDS,
            **_COMPOSITION,
            **_SYMMETRY,
            **flags("deprecated", missing_is_false=True),
            "task_ids": contains_all("$.task_ids"),
            **_SIZE_RANGES,
        },
    ),
    "thermo": _materials(
        "thermo",
        {
            **_IDS,
            "formula": formula,
            "chemsys": chemsys,
            "thermo_ids": thermo_ids,
            "thermo_types": thermo_types,
            **flags("is_stable"),
            **ranges("nelements"),
            **_THERMO_RANGES,
        },
        present=has_prop("thermo"),
    ),
    "elasticity": _materials(
        "elasticity",
        {
            **_IDS,
            **_ELASTIC_RANGES,
            **ranges(elastic_anisotropy="$.universal_anisotropy", poisson="$.homogeneous_poisson"),
        },
        present=has_prop("elasticity"),
    ),
    "magnetism": _materials(
        "magnetism",
        {**_IDS, **_MAGNETIC_RANGES, "ordering": any_of("$.ordering")},
        present=has_prop("magnetism"),
    ),
    "dielectric": _materials(
        "dielectric", {**_IDS, **_DIELECTRIC_RANGES}, present=has_prop("dielectric")
    ),
    "electronic_structure": _materials(
        "electronic_structure",
        {
            **_IDS,
            **_COMPOSITION,
            **ranges("band_gap efermi nelements"),
            **flags("is_gap_direct is_metal"),
            "magnetic_ordering": any_of("$.ordering"),
        },
        present=has_prop("electronic_structure"),
    ),
    "synthesis": Endpoint(
        "/materials/synthesis/",
        "synthesis",
        "recipe_id",
        {
            "synthesis_type": one_of_choices(
                "synthesis_type", "$.synthesis_type", _values(SynthesisTypeEnum)
            ),
            "target_formula": listed_formula("target_formula", "$.targets_formula_s"),
            "precursor_formula": listed_formula("precursor_formula", "$.precursors_formula_s"),
            "operations": one_of_choices(
                "operations", "$.operations", _values(OperationTypeEnum), every=True
            ),
            **{
                f"condition_{key}_{bound}": condition_value(f"condition_{key}_{bound}", key, bound)
                for key in ("heating_temperature", "heating_time")
                for bound in ("min", "max")
            },
            "condition_heating_atmosphere": condition_any("heating_atmosphere", is_list=True),
            "condition_mixing_device": condition_any("mixing_device", is_list=False),
            "condition_mixing_media": condition_any("mixing_media", is_list=False),
        },
        build=synthesis_doc,
        default_fields=None,
        fts="synthesis_fts",
    ),
}
_SERVED = {e.route.strip("/") for e in ENDPOINTS.values()}
ENDPOINTS |= {
    route: Endpoint(f"/{route}/", None, "material_id", {})
    for route in client_routes()
    if route not in _SERVED
}
"""Every other route the installed client knows: MP's envelope with no documents."""
CONTROL = ("_fields", "_all_fields", "_limit", "_skip", "_page", "_per_page", "_sort_fields")
_SORT_FIELD = re.compile(r"-?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")


@dataclass
class SearchResult:
    """One page of documents and how many match in all (MP's ``meta.total_doc``)."""

    data: list[dict[str, Any]]
    total: int


def search(
    conn: sqlite3.Connection, endpoint: Endpoint, params: list[tuple[str, str]]
) -> SearchResult:
    """Run the MP query ``params`` (as sent, repeated keys allowed) on ``endpoint``."""
    grouped = _group(endpoint, params)
    if endpoint.table is None:
        _page(grouped)
        _order(grouped.get("_sort_fields", []), endpoint, None)
        return SearchResult(data=[], total=0)
    conn.create_function("formula_matches", 2, formula_matches, deterministic=True)
    clauses, args = [endpoint.present], []
    for name, values in grouped.items():
        if name in endpoint.filters:
            sql, filter_args = endpoint.filters[name](values)
            clauses.append(sql)
            args.extend(filter_args)
    source, score = endpoint.table, None
    if keywords := split_values(grouped.get("keywords", [])):
        # full-text match, best first; MP ranks keyword hits with an Atlas search score
        source = (
            f"{endpoint.table} JOIN (SELECT rowid AS fts_id, -bm25({endpoint.fts}) AS score "
            f"FROM {endpoint.fts} WHERE {endpoint.fts} MATCH ?) ON id = fts_id"
        )
        args.insert(0, " OR ".join('"' + k.replace('"', '""') + '"' for k in keywords))
        score = "score"

    limit, skip = _page(grouped)
    where = " AND ".join(f"({c})" for c in clauses)
    total = conn.execute(f"SELECT count(*) FROM {source} WHERE {where}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT doc{', ' + score if score else ''} FROM {source} WHERE {where} "
        f"ORDER BY {_order(grouped.get('_sort_fields', []), endpoint, score)} LIMIT ? OFFSET ?",
        [*args, limit, skip],
    ).fetchall()
    fields = _fields(grouped, endpoint)
    collections = empty_collections(endpoint.model)
    data = []
    for row in rows:
        doc = endpoint.build(json.loads(row[0]))
        for name, empty in collections.items():
            if doc.get(name) is None:
                doc[name] = type(empty)()
        if score:
            doc["search_score"] = round(row[1], 4)
            doc["highlights"] = highlights(
                {"paragraph_string": doc.get("paragraph_string"), "text": doc.get("text")}, keywords
            )
        data.append(_project(doc, fields) if fields is not None else doc)
    return SearchResult(data=data, total=total)


def _group(endpoint: Endpoint, params: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Values by parameter name, refusing unknown names (on routes with data), empty values and
    empty ranges."""
    allowed = {*endpoint.filters, *CONTROL, *(("keywords",) if endpoint.fts else ())}
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        if name not in allowed and endpoint.table is not None:
            raise BadParameter(f"unknown parameter '{name}' for {endpoint.route}")
        if not value.strip():
            raise BadParameter(f"parameter '{name}' is empty")
        grouped.setdefault(name, []).append(value)
    for name, values in grouped.items():
        if name.endswith("_min") and (upper := grouped.get(name.removesuffix("_min") + "_max")):
            low, high = number(name, values[-1]), number(name, upper[-1])
            if low > high:
                raise BadParameter(
                    f"empty range for {name.removesuffix('_min')}: min {low:g} > max {high:g}"
                )
    return grouped


def _integer(
    name: str, values: list[str] | None, default: int, low: int, high: int | None = None
) -> int:
    if not values:
        return default
    text = single(name, values)
    try:
        value = int(text)
    except ValueError:
        raise BadParameter(f"parameter '{name}' must be an integer, got {text!r}") from None
    if value < low or (high is not None and value > high):
        upper = high if high is not None else "∞"
        raise BadParameter(f"parameter '{name}' must be in [{low}, {upper}], got {value}")
    return value


def _page(grouped: dict[str, list[str]]) -> tuple[int, int]:
    limit = _integer("_limit", grouped.get("_limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
    if "_page" in grouped:
        per_page = _integer("_per_page", grouped.get("_per_page"), limit, 1, MAX_LIMIT)
        return per_page, (_integer("_page", grouped["_page"], 1, 1) - 1) * per_page
    return limit, _integer("_skip", grouped.get("_skip"), 0, 0)


def _order(values: list[str], endpoint: Endpoint, score: str | None) -> str:
    terms = [f"{score} DESC"] if score else []
    for name in split_values(values):
        if not _SORT_FIELD.fullmatch(name):
            raise BadParameter(f"cannot sort on {name!r}")
        if endpoint.model is not None and name.lstrip("-").split(".")[0] not in endpoint.fields:
            raise BadParameter(
                f"cannot sort on {name!r}: {endpoint.route} documents have no such field"
            )
        path = "$." + name.lstrip("-")
        terms.append(f"{sql_expr(path)} {'DESC' if name.startswith('-') else 'ASC'}")
    return ", ".join([*terms, endpoint.key])


def _fields(grouped: dict[str, list[str]], endpoint: Endpoint) -> list[str] | None:
    """``_fields``; all fields (None) with ``_all_fields=true``; else the endpoint's defaults."""
    if requested := split_values(grouped.get("_fields", [])):
        return requested
    all_fields = single("_all_fields", grouped.get("_all_fields", ["false"])).lower()
    if all_fields in {"true", "1"} or endpoint.default_fields is None:
        return None
    return list(endpoint.default_fields)


def _project(doc: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """Keep only ``fields`` (dotted paths keep nested keys); a missing field is returned as null."""
    out: dict[str, Any] = {}
    for name in fields:
        _copy_path(doc, out, name.split("."))
    return out


def _copy_path(source: dict[str, Any], target: dict[str, Any], parts: list[str]) -> None:
    head, *rest = parts
    value = source.get(head)
    if rest and isinstance(value, dict):
        _copy_path(value, target.setdefault(head, {}), rest)
    else:
        target.setdefault(head, value)
