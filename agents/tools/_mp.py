"""Materials Project plumbing of the expert tools: typed ids and formulas, bounded searches, results.

Every search asks one endpoint of the mp-api client for explicit ``fields`` and one chunk of at most
``limit + 1`` documents (the extra one only tells whether more matched), so no call pages through
MP. Documents come back projected to the fields asked, floats rounded to 6 significant digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, model_validator
from pymatgen.core import Element

from agents.artifacts import ArtifactStore
from agents.mp.client import open_rester
from agents.mp.documents import reduced_formula
from agents.tools._common import rounded
from matlas.errors import InvalidInput
from matlas.settings import Settings

__all__ = [
    "Chemsys", "ElementSymbol", "Formula", "Limit", "MaterialId", "MaterialQuery", "material_ids_for",
    "mp_call", "mp_search", "parse_material_id", "results",
]

MP_ID_PATTERN = r"^(mp|mvc)-\d+$"


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
Formula = Annotated[str, AfterValidator(_formula), Field(description="Chemical formula, e.g. Fe2O3 or LiFePO4.")]
ElementSymbol = Annotated[str, AfterValidator(_element), Field(description="Element symbol, e.g. Li.")]
Chemsys = Annotated[
    str, AfterValidator(_chemsys), Field(description="Chemical system: elements joined by '-', e.g. Li-Fe-O.")
]
Limit = Annotated[int, Field(ge=1, le=50, description="Most records to return (1-50).")]


class MaterialQuery(BaseModel):
    """Arguments naming materials by MP id and/or formula (at least one), with a record limit."""

    material_ids: list[MaterialId] | None = Field(None, max_length=50, description="MP ids, e.g. [\"mp-149\"].")
    formula: list[Formula] | None = Field(None, max_length=20, description="Formulas, e.g. [\"GaN\", \"Fe2O3\"].")
    limit: Limit = 10

    @model_validator(mode="after")
    def _names_materials(self) -> MaterialQuery:
        if not self.material_ids and not self.formula:
            raise ValueError("give material_ids (e.g. [\"mp-149\"]) or formula (e.g. [\"Si\"])")
        return self

    def criteria(self) -> dict[str, Any]:
        """The MP search arguments of this query."""
        return {"material_ids": self.material_ids, "formula": self.formula}


def mp_search(
    settings: Settings, endpoint: str, *, fields: Sequence[str], limit: int, **criteria: Any
) -> tuple[list[dict[str, Any]], bool]:
    """Up to ``limit`` documents of ``mpr.materials.<endpoint>`` matching ``criteria``, and whether more matched."""
    docs = mp_call(settings, endpoint, limit=limit, fields=list(fields), **criteria)
    records = [_project(doc, fields) for doc in docs]
    return records[:limit], len(records) > limit


def mp_call(settings: Settings, endpoint: str, *, limit: int, **criteria: Any) -> list[dict[str, Any]]:
    """One bounded ``mpr.materials.<endpoint>.search``: a single chunk of ``limit + 1`` raw documents.

    MP failures leave ``open_rester`` as ``UpstreamError`` (the key redacted).
    """
    criteria = {k: v for k, v in criteria.items() if v is not None}
    with open_rester(settings, use_document_model=False) as mpr:
        return getattr(mpr.materials, endpoint).search(**criteria, num_chunks=1, chunk_size=limit + 1)


def material_ids_for(settings: Settings, query: MaterialQuery) -> list[str]:
    """The query's MP ids plus those of its formulas (via the summary endpoint), for id-only endpoints."""
    ids = list(query.material_ids or [])
    if query.formula:
        found, _ = mp_search(settings, "summary", fields=["material_id"], limit=query.limit, formula=query.formula)
        if not found and not ids:
            raise InvalidInput(f"no material matches {_describe({'formula': query.formula})}")
        ids += [doc["material_id"] for doc in found if doc["material_id"] not in ids]
    return ids


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
    return {"results": rounded(records), "returned": len(records), "truncated": more}


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
