"""What every expert tool shares: construction, errors as observations, compact JSON results."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

from langchain_core.tools import StructuredTool, ToolException
from pydantic import BaseModel, ValidationError

from matlas.errors import MatlasError

__all__ = ["MAX_CHARS", "UNITS", "make_tool", "observation", "rounded", "with_units"]

MAX_CHARS = 4000  # cap on one tool result in the model's context
SIGNIFICANT_DIGITS = 6

Args = TypeVar("Args", bound=BaseModel)

UNITS: dict[str, str] = {
    "band_gap": "eV", "cbm": "eV", "vbm": "eV", "efermi": "eV",
    "formation_energy_per_atom": "eV/atom", "energy_above_hull": "eV/atom", "energy_per_atom": "eV/atom",
    "equilibrium_reaction_energy_per_atom": "eV/atom",
    "bulk_modulus": "GPa", "shear_modulus": "GPa", "youngs_modulus": "GPa", "debye_temperature": "K",
    "density": "g/cm³", "volume": "Å³", "volume_per_atom": "Å³/atom",
    "a": "Å", "b": "Å", "c": "Å", "alpha": "°", "beta": "°", "gamma": "°",
    "total_magnetization": "μB/cell", "total_magnetization_normalized_formula_units": "μB/f.u.",
    "total_magnetization_normalized_vol": "μB/Å³",
    "e_total": "relative permittivity (ε/ε0)", "e_ionic": "relative permittivity (ε/ε0)",
    "e_electronic": "relative permittivity (ε/ε0)", "n": "refractive index (dimensionless)",
    "homogeneous_poisson": "dimensionless", "universal_anisotropy": "dimensionless",
}
"""Unit of each MP property the tools return (MP's own units; Young's modulus converted to GPa)."""


def make_tool(
    func: Callable[[Args], dict[str, Any]], *, name: str, description: str, args_schema: type[Args]
) -> StructuredTool:
    """A typed tool calling ``func(args)``; bad arguments and ``MatlasError`` come back as observations."""

    def run(**kwargs: Any) -> str:
        try:
            return observation(func(args_schema.model_construct(**kwargs)))
        except MatlasError as exc:
            raise ToolException(f"{name}: {exc}") from exc

    def invalid_arguments(exc: ValidationError) -> str:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}" for err in exc.errors()
        )
        return f"{name}: invalid arguments: {problems}. Fix them and call {name} again."

    return StructuredTool.from_function(
        run,
        name=name,
        description=description,
        args_schema=args_schema,
        handle_tool_error=True,
        handle_validation_error=invalid_arguments,
    )


def with_units(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with ``units``: the unit of every property its ``results`` records carry."""
    keys = {k for record in payload.get("results") or [] if isinstance(record, dict) for k in record}
    if units := {k: UNITS[k] for k in sorted(keys) if k in UNITS}:
        return {**payload, "units": units}
    return payload


def rounded(value: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """``value`` with every float rounded to ``digits`` significant digits (a rounding, never more).

    >>> rounded({"k_vrh": 83.0112836733, "ids": ["mp-149"], "n": 8})
    {'k_vrh': 83.0113, 'ids': ['mp-149'], 'n': 8}
    """
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value


def observation(payload: dict[str, Any], max_chars: int = MAX_CHARS) -> str:
    """``payload`` as compact JSON; a list of ``results`` loses records from its end (``truncated``)
    until the text fits ``max_chars``. Other payloads are small by construction."""
    text = _json(payload)
    kept = payload.get("results")
    if not isinstance(kept, list):
        return text
    while len(kept) > 1 and len(text) > max_chars:
        kept = kept[:-1]
        text = _json({**payload, "results": kept, "returned": len(kept), "truncated": True})
    return text


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)
