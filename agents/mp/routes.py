"""The routes the installed mp-api client knows, with the document model each one returns.

Read from the client itself (every ``BaseRester`` subclass under ``mp_api.client.routes`` and its
``suffix``), so the snapshot server answers each route a client of this version may call, plus
the sub-routes the client's helpers append (``core/blessed_tasks``, ``robocrys/text_search``,
``similarity/match``). A rester whose optional dependency is missing is still listed.
"""

from __future__ import annotations

import importlib
import pkgutil
import types
import typing
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from pydantic import BaseModel

__all__ = ["SUB_ROUTES", "client_routes", "empty_collections", "model_fields"]

SUB_ROUTES = {
    "materials/core/blessed_tasks": "materials/core",
    "materials/robocrys/text_search": "materials/robocrys",
    "materials/similarity/match": "materials/similarity",
}
"""Sub-routes the client's helpers query (``suburl=``), with the route whose model they share."""
_UNIMPORTABLE = {"materials/alloys": None}  # needs pymatgen-analysis-alloys on the client side
_VALUE_DICTS = {"bulk_modulus", "shear_modulus"}  # values (voigt/reuss/vrh), not collections


@cache
def client_routes() -> dict[str, type[BaseModel] | None]:
    """Route suffix (``materials/thermo``) -> its document model, for every rester of the client."""
    import mp_api.client.routes as package
    from mp_api.client.core import BaseRester

    routes: dict[str, type[BaseModel] | None] = dict(_UNIMPORTABLE)
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue
        for value in vars(module).values():
            is_rester = isinstance(value, type) and issubclass(value, BaseRester)
            if is_rester and (suffix := getattr(value, "suffix", None)):
                routes[suffix] = getattr(value, "document_model", None)
    for sub, parent in SUB_ROUTES.items():
        routes[sub] = routes.get(parent)
    return routes


def model_fields(model: type[BaseModel] | None) -> frozenset[str]:
    """Top-level field names of a document model (none for an unknown model)."""
    return frozenset(model.model_fields) if model is not None else frozenset()


@cache
def empty_collections(model: type[BaseModel] | None) -> dict[str, Any]:
    """The model's list and dict fields with an empty value: what a document without that data
    carries, so the client's helpers iterate nothing instead of crashing on null."""
    if model is None:
        return {}
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        annotation = _unwrap(field.annotation)
        kind = typing.get_origin(annotation) or annotation
        items = typing.get_args(annotation)
        nested = bool(items) and typing.get_origin(_unwrap(items[0])) in (list, tuple)
        if name in _VALUE_DICTS or nested:  # values and tensors (3x3 lists) are not collections
            continue
        if kind in (list, set, Sequence):
            out[name] = []
        elif kind in (dict, Mapping):
            out[name] = {}
    return out


def _unwrap(annotation: Any) -> Any:
    """``list[X]`` for ``list[X] | None`` or ``Annotated[list[X], ...]``; None for real unions."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else None
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    return annotation
