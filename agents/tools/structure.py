"""Structure expert: deterministic pymatgen tools on MP structures, passed around as artifact handles.

A structure is named by an MP id (fetched once from MP into the session's artifact store) or by an
artifact handle. Derived structures (substitution, interstitial, supercell) are stored as new
handles whose metadata keeps the MP reference and how many reference cells they hold, so their
volumetric strain is measured against the right volume. Nothing is relaxed: a derived cell keeps
its lattice, or is rescaled isotropically by elemental atomic volumes, and says so.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field
from pymatgen.core import Element, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from agents.artifacts import ArtifactStore
from agents.mp.client import MPClient
from agents.tools._common import make_tool, rounded
from agents.tools._mp import ElementSymbol, MaterialId, mp_search, parse_material_id
from matlas.errors import InvalidInput

__all__ = ["describe_structure", "largest_void", "structure_tools"]

SYMPREC = 0.1  # Å, as MP's symmetry data
AVOGADRO = 6.02214076e23
MAX_SITES = 500
MIN_CLEARANCE = 0.5  # Å from any atom for an inserted one
VOID_GRID_SPACING = 0.2  # Å between trial points of the void search
VolumeModel = Literal["fixed_lattice", "atomic_volumes"]
NOT_RELAXED = "Not relaxed (no DFT or ML relaxation here), a geometric estimate: {explain}"
_EXPLAIN = {
    "fixed_lattice": "the parent lattice is kept unchanged.",
    "atomic_volumes": "the parent lattice is scaled isotropically by the elemental atomic volumes "
    "(molar volume / Avogadro) of the atoms added minus those removed.",
}


class _StructureArg(BaseModel):
    structure: str = Field(description="An artifact handle (artifact://structure/...) or an MP id (mp-149).")


class _GetStructure(BaseModel):
    material_id: MaterialId


class _Strain(_StructureArg):
    reference: str | None = Field(
        None, description="Handle or MP id to compare with; default the MP material the structure derives from."
    )


VolumeModelArg = Annotated[VolumeModel, Field(
    description="fixed_lattice keeps the parent lattice; atomic_volumes rescales it (an estimate).")]


class _Substitute(_StructureArg):
    old: ElementSymbol = Field(description="Element to replace, e.g. Si.")
    new: ElementSymbol = Field(description="Element to put in its place, e.g. Ge.")
    sites: list[Annotated[int, Field(ge=0)]] | None = Field(
        None, description="0-based site indices to replace; default every site of `old`."
    )
    volume_model: VolumeModelArg = "atomic_volumes"


class _Insert(_StructureArg):
    species: ElementSymbol = Field(description="Element to insert, e.g. Li.")
    frac_coords: tuple[float, float, float] | None = Field(
        None, description="Fractional coordinates of the new atom; default the largest void of the cell."
    )
    volume_model: VolumeModelArg = "atomic_volumes"


Repeat = Annotated[int, Field(ge=1, le=10)]
DESCRIPTIONS = {
    "get_structure": "Fetch the crystal structure of an MP material into the session; returns its artifact handle "
    "with formula, lattice a/b/c and space group. Use the handle in the other structure tools.",
    "lattice_parameters": "Lattice parameters a, b, c (Å), angles (°), cell volume (Å³), volume per atom and "
    "density (g/cm³) of a structure (handle or MP id).",
    "get_symmetry": "Space group symbol and number, crystal system and point group of a structure (handle or MP "
    "id), from pymatgen's SpacegroupAnalyzer.",
    "volumetric_strain": "Volumetric strain V/V_ref - 1 of a (modified) structure against its MP reference material "
    "or another structure, per reference cell.",
    "substitute_species": "Replace an element by another on all or chosen sites of a structure; returns a new "
    "handle with volume, density and volumetric strain (unrelaxed estimate).",
    "insert_interstitial": "Insert one atom at fractional coordinates or at the largest void of a structure (e.g. "
    "Li into Si mp-149); returns a new handle with volume, density and volumetric strain (unrelaxed estimate).",
    "make_supercell": f"Repeat a structure along a, b, c (at most {MAX_SITES} sites); returns a new handle.",
}


class _Supercell(_StructureArg):
    scaling: tuple[Repeat, Repeat, Repeat] = Field(description="Repetitions along a, b, c, e.g. [2, 2, 2].")


def structure_tools(mp: MPClient, artifacts: ArtifactStore) -> list[BaseTool]:
    """The structure expert's tools over MP (``mp``) and the session's ``artifacts``."""

    fetched: dict[str, str] = {}  # MP id -> handle, so each MP structure is fetched once a session

    def load(ref: str) -> tuple[Structure, str, dict[str, Any]]:
        """A structure reference as (structure, handle, metadata); MP ids are fetched and stored."""
        ref = ref.strip()
        if ref.startswith("artifact://"):
            return artifacts.get_structure(ref), ref, artifacts.meta(ref)
        try:
            material_id = parse_material_id(ref)
        except InvalidInput as exc:
            raise InvalidInput(f"{exc}, or give an artifact handle (artifact://structure/...)") from None
        if material_id in fetched:
            return load(fetched[material_id])
        docs, _ = mp_search(mp, "summary", material_ids=[material_id],
                            fields=["material_id", "structure"], limit=1)
        if not docs or "structure" not in docs[0]:
            raise InvalidInput(f"no material matches material_ids=[{material_id}]")
        structure = Structure.from_dict(docs[0]["structure"])
        meta = {"material_id": material_id, "cells": 1, "history": [f"fetched {material_id} from MP"]}
        fetched[material_id] = artifacts.put_structure(structure, meta)
        return structure, fetched[material_id], meta

    def get_structure(args: _GetStructure) -> dict[str, Any]:
        structure, handle, meta = load(args.material_id)
        return describe_structure(structure, handle, meta)

    def lattice_parameters(args: _StructureArg) -> dict[str, Any]:
        structure, handle, _ = load(args.structure)
        a, b, c = structure.lattice.abc
        alpha, beta, gamma = structure.lattice.angles
        return rounded({
            "handle": handle, "formula": structure.composition.reduced_formula, "nsites": len(structure),
            "a": a, "b": b, "c": c, "alpha": alpha, "beta": beta, "gamma": gamma,
            "volume": structure.volume, "volume_per_atom": structure.volume / len(structure),
            "density": float(structure.density), "units": "Å, degrees, Å³, g/cm³",
        })

    def get_symmetry(args: _StructureArg) -> dict[str, Any]:
        structure, handle, _ = load(args.structure)
        sga = SpacegroupAnalyzer(structure, symprec=SYMPREC)
        return {
            "handle": handle, "formula": structure.composition.reduced_formula,
            "spacegroup_symbol": sga.get_space_group_symbol(), "spacegroup_number": sga.get_space_group_number(),
            "crystal_system": sga.get_crystal_system(), "point_group": sga.get_point_group_symbol(),
            "symprec": SYMPREC,
        }

    def volumetric_strain(args: _Strain) -> dict[str, Any]:
        structure, handle, meta = load(args.structure)
        reference = args.reference or meta.get("material_id")
        if reference is None:
            raise InvalidInput(f"{handle} does not derive from an MP material; give `reference`")
        ref_structure, _, ref_meta = load(reference)
        return rounded(strain(structure, meta, ref_structure, ref_meta) | {"handle": handle, "reference": reference})

    def substitute_species(args: _Substitute) -> dict[str, Any]:
        structure, handle, meta = load(args.structure)
        indices = [i for i, site in enumerate(structure) if site.specie.symbol == args.old]
        if not indices:
            raise InvalidInput(f"{handle} has no {args.old} site; its elements are {_elements(structure)}")
        chosen = indices if args.sites is None else args.sites
        if wrong := sorted(set(chosen) - set(indices)):
            raise InvalidInput(f"sites {wrong} are not {args.old} sites of {handle}; {args.old} sites: {indices}")
        new = structure.copy()
        for i in chosen:
            new.replace(i, args.new)
        return derive(new, structure, handle, meta, args.volume_model,
                      f"substituted {args.old}->{args.new} at sites {chosen}", {args.new: len(chosen)},
                      {args.old: len(chosen)})

    def insert_interstitial(args: _Insert) -> dict[str, Any]:
        structure, handle, meta = load(args.structure)
        if args.frac_coords is None:
            coords, clearance = largest_void(structure)
            where = "largest void"
        else:
            coords = np.mod(np.asarray(args.frac_coords, float), 1.0)
            clearance = float(structure.lattice.get_all_distances([coords], structure.frac_coords).min())
            where = "given position"
        if clearance < MIN_CLEARANCE:
            raise InvalidInput(f"{args.species} at {coords.round(4).tolist()} would sit {clearance:.2f} Å from an "
                               f"atom (at least {MIN_CLEARANCE} Å); choose other frac_coords or omit them")
        new = structure.copy()
        new.append(args.species, coords)
        result = derive(new, structure, handle, meta, args.volume_model,
                        f"inserted {args.species} at {where} {coords.round(4).tolist()}", {args.species: 1}, {})
        nearest = new.lattice.get_all_distances(new.frac_coords[-1:], new.frac_coords[:-1]).min()
        result["inserted"] = rounded({"species": args.species, "frac_coords": coords.tolist(), "site": len(new) - 1,
                                      "placed_at": where, "nearest_atom_distance": float(nearest)})
        return result

    def make_supercell(args: _Supercell) -> dict[str, Any]:
        structure, handle, meta = load(args.structure)
        cells = math.prod(args.scaling)
        if len(structure) * cells > MAX_SITES:
            raise InvalidInput(f"a {list(args.scaling)} supercell of {len(structure)} sites exceeds {MAX_SITES} sites")
        new = structure * args.scaling
        new_meta = _child_meta(meta, handle, f"supercell {list(args.scaling)}", cells)
        return describe_structure(new, artifacts.put_structure(new, new_meta), new_meta)

    def derive(new: Structure, parent: Structure, parent_handle: str, meta: dict[str, Any], model: VolumeModel,
               operation: str, added: dict[str, int], removed: dict[str, int]) -> dict[str, Any]:
        """Store a derived structure (rescaled per ``model``) and report it against its MP reference."""
        if model == "atomic_volumes":
            new.scale_lattice(parent.volume + _atomic_volume(added) - _atomic_volume(removed))
        new_meta = _child_meta(meta, parent_handle, operation, 1)
        result = describe_structure(new, artifacts.put_structure(new, new_meta), new_meta)
        result |= rounded({"volume": new.volume, "density": float(new.density)})
        if "material_id" in meta:
            ref, _, ref_meta = load(meta["material_id"])
            result["volumetric_strain"] = rounded(strain(new, new_meta, ref, ref_meta)["volumetric_strain"])
        result["relaxed"] = False
        result["note"] = NOT_RELAXED.format(explain=_EXPLAIN[model])
        return result

    schemas = [(get_structure, _GetStructure), (lattice_parameters, _StructureArg), (get_symmetry, _StructureArg),
               (volumetric_strain, _Strain), (substitute_species, _Substitute), (insert_interstitial, _Insert),
               (make_supercell, _Supercell)]
    return [make_tool(f, name=f.__name__, description=DESCRIPTIONS[f.__name__], args_schema=a) for f, a in schemas]


def describe_structure(structure: Structure, handle: str, meta: dict[str, Any]) -> dict[str, Any]:
    """The short description of a stored structure that goes into the model's context (no sites)."""
    sga = SpacegroupAnalyzer(structure, symprec=SYMPREC)
    a, b, c = structure.lattice.abc
    described = {
        "handle": handle,
        "material_id": meta.get("material_id"),
        "formula": structure.composition.reduced_formula,
        "composition": structure.composition.formula,
        "nsites": len(structure),
        "lattice_abc": [a, b, c],
        "spacegroup": sga.get_space_group_symbol(),
    }
    return rounded({k: v for k, v in described.items() if v is not None})


def strain(structure: Structure, meta: dict[str, Any], ref: Structure, ref_meta: dict[str, Any]) -> dict[str, Any]:
    """Volumetric strain of ``structure`` against ``ref``, each volume divided by its reference-cell count."""
    per_cell = structure.volume / meta.get("cells", 1)
    ref_per_cell = ref.volume / ref_meta.get("cells", 1)
    return {"volume_per_reference_cell": per_cell, "reference_volume": ref_per_cell,
            "volumetric_strain": per_cell / ref_per_cell - 1}


def largest_void(structure: Structure, spacing: float = VOID_GRID_SPACING) -> tuple[np.ndarray, float]:
    """The fractional point (shape (3,)) farthest from every atom, periodic images included, and that distance (Å).

    Searched on a grid of about ``spacing`` Å whose size per axis is a multiple of 12, so the
    special positions 1/2, 1/3, 1/4 and 1/6 are on it; ties go to the first point in grid order.
    """
    counts = [12 * max(1, math.ceil(length / (12 * spacing))) for length in structure.lattice.abc]
    if math.prod(counts) * len(structure) > 5e7:
        raise InvalidInput(f"{len(structure)} sites are too many for the void search; give frac_coords")
    axes = [np.arange(n) / n for n in counts]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    chunk = max(1, 20_000 // len(structure))  # grid points per batch: 27 images x sites x 3 floats each
    nearest = np.concatenate([
        structure.lattice.get_all_distances(grid[i: i + chunk], structure.frac_coords).min(axis=1)
        for i in range(0, len(grid), chunk)
    ])
    best = int(np.argmax(np.round(nearest, 6)))
    return grid[best], float(nearest[best])


def _atomic_volume(counts: dict[str, int]) -> float:
    """Σ n · (elemental molar volume / Avogadro), in Å³."""
    total = 0.0
    for symbol, n in counts.items():
        molar = Element(symbol).molar_volume
        if molar is None:
            raise InvalidInput(f"no elemental volume is known for {symbol}; use volume_model='fixed_lattice'")
        total += n * float(molar) * 1e24 / AVOGADRO
    return total


def _child_meta(meta: dict[str, Any], parent: str, operation: str, factor: int) -> dict[str, Any]:
    return {**meta, "cells": meta.get("cells", 1) * factor, "parent": parent,
            "history": [*meta.get("history", []), operation]}


def _elements(structure: Structure) -> list[str]:
    return sorted(e.symbol for e in structure.composition.elements)
