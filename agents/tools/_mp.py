"""Materials Project plumbing of the expert tools: typed ids and formulas, bounded searches, results.

Every search asks one endpoint of the shared ``MPClient`` for explicit ``fields`` and one chunk of at
most ``limit + 1`` documents (the extra one only tells whether more matched), so no call pages
through MP. Documents come back projected to the fields asked, floats rounded to 6 significant
digits, with the unit of every property in ``units``.

A formula names a composition, not a material: ``polymorphs`` ranks a formula's materials by energy
above the hull (sorted by MP), lowest first, and the per-property tools answer for the ground state
(the first of them the endpoint has data for) unless asked for every polymorph. Each record says
which polymorph it is and how many others MP lists (``polymorph``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, model_validator
from pymatgen.core import Element

from agents.artifacts import ArtifactStore
from agents.mp.client import MPClient
from agents.mp.documents import reduced_formula
from agents.tools._common import rounded, with_units
from matlas.errors import InvalidInput

__all__ = [
    "Chemsys", "ElementSymbol", "Formula", "Limit", "MaterialId", "MaterialQuery", "Polymorph", "for_materials",
    "mp_search", "parse_material_id", "polymorphs", "results",
]

MP_ID_PATTERN = r"^(mp|mvc)-\d+$"
MAX_POLYMORPHS = 50  # polymorphs of one formula ranked per lookup


def parse_material_id(value: str) -> str:
    """``value`` as a normalized MP id (``mp-149``); ``InvalidInput`` (a ``ValueError``) otherwise."""
    value = value.strip().lower()
    if not re.match(MP_ID_PATTERN, value):
        raise InvalidInput(f"{value!r} is not a Materials Project id; ids look like mp-149 or mvc-12")
    return value


def _formula(value: str) -> str:
    if (reduced := reduced_formula(value.strip())) is None:
        raise InvalidInput(f"{value!r} is not a chemical formula; write element symbols and counts, e.g. Fe2O3")
    return reduced


def _element(value: str) -> str:
    value = value.strip()
    if not Element.is_valid_symbol(value):
        raise InvalidInput(f"{value!r} is not an element symbol (e.g. Li, Fe, O)")
    return value


def _chemsys(value: str) -> str:
    return "-".join(sorted({_element(e) for e in value.split("-")}))


MaterialId = Annotated[
    str,
    AfterValidator(parse_material_id),
    Field(description="Materials Project id, e.g. mp-149.", json_schema_extra={"pattern": MP_ID_PATTERN}),
]
Formula = Annotated[str, AfterValidator(_formula), Field(
    description="Chemical formula, e.g. Fe2O3 or LiFePO4.",
    json_schema_extra={"pattern": r"^(?:[A-Z][a-z]?[0-9.]*|\(|\)[0-9]*)+$"})]
ElementSymbol = Annotated[str, AfterValidator(_element), Field(
    description="Element symbol, e.g. Li.", json_schema_extra={"pattern": r"^[A-Z][a-z]?$"})]
Chemsys = Annotated[str, AfterValidator(_chemsys), Field(
    description="Chemical system: elements joined by '-', e.g. Li-Fe-O.",
    json_schema_extra={"pattern": r"^[A-Z][a-z]?(?:-[A-Z][a-z]?)*$"})]
Limit = Annotated[int, Field(ge=1, le=50, description="Most records to return (1-50).")]


class MaterialQuery(BaseModel):
    """Arguments naming materials by MP id and/or formula (at least one), with a record limit."""

    material_ids: list[MaterialId] | None = Field(None, max_length=50, description="MP ids, e.g. [\"mp-149\"].")
    formula: list[Formula] | None = Field(None, max_length=20, description="Formulas, e.g. [\"GaN\", \"Fe2O3\"].")
    all_polymorphs: bool = Field(
        False, description="Every polymorph of each formula; default only the ground state (lowest energy above hull)."
    )
    spacegroup_number: int | None = Field(
        None, ge=1, le=230, description="Only the polymorphs of the formulas in this space group, e.g. 186 (P6_3mc)."
    )
    limit: Limit = 10

    @model_validator(mode="after")
    def _names_materials(self) -> MaterialQuery:
        if not self.material_ids and not self.formula:
            raise ValueError("give material_ids (e.g. [\"mp-149\"]) or formula (e.g. [\"Si\"])")
        return self

    def criteria(self) -> dict[str, Any]:
        """The MP search arguments of this query."""
        return {"material_ids": self.material_ids, "formula": self.formula}


class Polymorph(BaseModel):
    """Where one material stands among the polymorphs of its formula."""

    material_id: str
    formula: str
    space_group: str | None = None
    energy_above_hull: float | None = Field(None, description="eV/atom; None when MP has none for it.")
    rank: int = Field(description="0 for the ground state: lowest energy above hull, unknown ones last, then MP id.")
    others: int = Field(description="How many other polymorphs of the formula MP lists.")

    def note(self) -> dict[str, Any]:
        """The ``polymorph`` entry of a tool record."""
        out: dict[str, Any] = {"space_group": self.space_group, "ground_state": self.rank == 0,
                               "other_polymorphs": self.others}
        if self.rank == 0 and self.others and self.energy_above_hull is None:
            out["ground_state_basis"] = "MP gives no energy above hull for these polymorphs; lowest MP id taken"
        return {k: v for k, v in out.items() if v is not None}


def _id_number(material_id: str) -> int:
    return int(material_id.rsplit("-", 1)[1])


def polymorphs(mp: MPClient, formulas: Sequence[str], **criteria: Any) -> dict[str, list[Polymorph]]:
    """Reduced formula -> its MP materials, ground state first (energy above hull, sorted by MP)."""
    docs = mp.search("summary", limit=MAX_POLYMORPHS * len(formulas), formula=list(formulas),
                     fields=["material_id", "formula_pretty", "symmetry", "energy_above_hull"],
                     _sort_fields="energy_above_hull", **criteria)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        grouped.setdefault(reduced_formula(doc["formula_pretty"]) or doc["formula_pretty"], []).append(doc)
    ranked: dict[str, list[Polymorph]] = {}
    for formula, group in grouped.items():
        group.sort(key=lambda d: (d.get("energy_above_hull") is None, d.get("energy_above_hull") or 0.0,
                                  _id_number(d["material_id"])))
        ranked[formula] = [
            Polymorph(material_id=d["material_id"], formula=d["formula_pretty"],
                      space_group=(d.get("symmetry") or {}).get("symbol"),
                      energy_above_hull=d.get("energy_above_hull"), rank=i, others=len(group) - 1)
            for i, d in enumerate(group)
        ]
    return ranked


def for_materials(
    mp: MPClient, query: MaterialQuery, endpoint: str, *, fields: Sequence[str], what: str,
    choose: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] = lambda docs: docs, **criteria: Any
) -> dict[str, Any]:
    """The ``endpoint`` records of the query's materials: its ids, and per formula the ground state that has
    a record there (every polymorph with ``all_polymorphs``), each with its ``polymorph`` note. ``choose``
    keeps one document per material where the endpoint has several (thermo types)."""
    named = list(dict.fromkeys(query.material_ids or []))
    ranked = polymorphs(mp, query.formula, spacegroup_number=query.spacegroup_number) if query.formula else {}
    if query.formula and not ranked and not named:
        raise InvalidInput(_no_match(mp, query))
    ids = named + [p.material_id for group in ranked.values() for p in group if p.material_id not in named]
    docs = mp.search(endpoint, limit=3 * len(ids) + 1, material_ids=ids, fields=list(fields), **criteria)
    by_id = {doc["material_id"]: _project(doc, fields) for doc in choose(docs)}
    records = [by_id[i] for i in named if i in by_id]
    for group in ranked.values():
        found = [p for p in group if p.material_id in by_id and p.material_id not in named]
        for p in found if query.all_polymorphs else found[:1]:
            record = by_id[p.material_id] | {"polymorph": p.note()}
            if not query.all_polymorphs and p.rank > 0:
                record["polymorph"]["note"] = (f"the ground state {group[0].material_id} has no {what}; this is the "
                                               "lowest-energy polymorph that has one")
            records.append(record)
    return results(records[: query.limit], len(records) > query.limit, what, query.criteria())


def _no_match(mp: MPClient, query: MaterialQuery) -> str:
    """Why the query's formulas matched nothing: not in MP, or not in the space group (then the polymorphs MP has)."""
    formulas = ", ".join(query.formula or [])
    if query.spacegroup_number is None:
        return f"no material matches formula=[{formulas}]: not in Materials Project"
    others = [p for group in polymorphs(mp, query.formula or []).values() for p in group]
    if not others:
        return f"no material matches formula=[{formulas}]: not in Materials Project"
    listed = "; ".join(f"{p.material_id} ({p.formula}, {p.space_group})" for p in others[:10])
    return (f"no {formulas} in space group {query.spacegroup_number} in Materials Project; "
            f"the polymorphs it has: {listed}")


def mp_search(
    mp: MPClient, endpoint: str, *, fields: Sequence[str], limit: int, **criteria: Any
) -> tuple[list[dict[str, Any]], bool]:
    """Up to ``limit`` documents of ``endpoint`` matching ``criteria``, and whether more matched."""
    docs = mp.search(endpoint, limit=limit + 1, fields=list(fields), **criteria)
    records = [_project(doc, fields) for doc in docs]
    return records[:limit], len(records) > limit


def stash_arrays(
    records: list[dict[str, Any]], artifacts: ArtifactStore, field: str, meta: dict[str, Any], *,
    key: str | None = None, extract: Callable[[Any], Any] = lambda value: value,
) -> None:
    """Move each record's array ``field`` into ``artifacts``, leaving its handle under ``key`` (default ``field``)."""
    for record in records:
        if (array := extract(record.pop(field, None))) is not None:
            record[key or field] = artifacts.put_array(array, {"material_id": record["material_id"], **meta})


def results(
    records: list[dict[str, Any]], more: bool, what: str, criteria: dict[str, Any]
) -> dict[str, Any]:
    """A tool result over ``records``; none matching is an error naming the criteria."""
    if not records:
        raise InvalidInput(f"no {what} matches {_describe(criteria)}")
    return with_units({"results": rounded(records), "returned": len(records), "truncated": more})


def _describe(criteria: dict[str, Any]) -> str:
    """Search criteria as the model wrote them: ``formula=[Fe2O3], band_gap=[1.0, None]``."""
    parts = [f"{k}={_show(v)}" for k, v in criteria.items() if v is not None and v != [] and not k.startswith("_")]
    return ", ".join(parts) or "the query"


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def _project(doc: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """One raw MP document restricted to ``fields``, without nulls."""
    return {k: v for k, v in doc.items() if v is not None and k in fields}
