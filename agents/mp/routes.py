"""The routes the installed mp-api client knows, with the document model each one returns.

Read from the client itself (every ``BaseRester`` subclass under ``mp_api.client.routes`` and its
``suffix``), so the snapshot server answers each route a client of this version may call, plus
the sub-routes the client's helpers append (``core/blessed_tasks``, ``robocrys/text_search``,
``similarity/match``). A rester whose optional dependency is missing is still listed.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import types
import typing
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

__all__ = ["SUB_ROUTES", "client_routes", "empty_collections", "model_fields", "route_model", "warm_up"]

SUB_ROUTES = {
    "materials/core/blessed_tasks": "materials/core",
    "materials/robocrys/text_search": "materials/robocrys",
    "materials/similarity/match": "materials/similarity",
}
"""Sub-routes the client's helpers query (``suburl=``), with the route whose model they share."""
_VALUE_DICTS = {"bulk_modulus", "shear_modulus"}  # values (voigt/reuss/vrh), not collections


@cache
def client_routes() -> dict[str, str | None]:
    """Route suffix (``materials/thermo``) -> the rester class that serves it (``module:Class``), for
    every rester of the installed client.

    Read from the client's source, not by importing it: importing every rester module costs about
    20 s of CPU (``materials/similarity`` alone pulls robocrys and pymatgen's prototype tables), the
    client itself imports them lazily, and so does :func:`route_model`.
    """
    spec = importlib.util.find_spec("mp_api")  # not "mp_api.client.routes": finding it imports mp_api.client (4 s)
    if spec is None or not spec.submodule_search_locations:
        return {}
    root = Path(next(iter(spec.submodule_search_locations))) / "client" / "routes"
    routes: dict[str, str | None] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        module = ".".join(("mp_api.client.routes", *parts)).removesuffix(".__init__")
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and (suffix := _class_str(node, "suffix")):
                routes.setdefault(suffix, f"{module}:{node.name}")
    for sub, parent in SUB_ROUTES.items():
        routes[sub] = routes.get(parent)
    return routes


def _class_str(node: ast.ClassDef, name: str) -> str | None:
    """The string constant assigned to ``name`` in the body of class ``node``, if any."""
    for stmt in node.body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else getattr(
            stmt, "target", None)
        value = getattr(stmt, "value", None)
        if (isinstance(target, ast.Name) and target.id == name and isinstance(value, ast.Constant)
                and isinstance(value.value, str) and value.value):
            return value.value
    return None


@cache
def route_model(route: str) -> type[BaseModel] | None:
    """The client's document model of ``route`` (imported on first use; None for a route the client
    does not know or whose rester cannot be imported here)."""
    where = client_routes().get(route.strip("/"))
    if where is None:
        return None
    module, _, name = where.partition(":")
    try:
        rester = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return getattr(rester, "document_model", None)


def warm_up(routes: tuple[str, ...] = ("materials/summary", "materials/thermo")) -> None:
    """Import the document models of ``routes`` (and so the client) now, for a server to pay at start
    what its first request would otherwise wait for (about 5 s of imports)."""
    for route in routes:
        route_model(route)


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
