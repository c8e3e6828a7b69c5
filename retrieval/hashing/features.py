"""Modality features for materials hashing: crystal structures (pymatgen) and texts (the encoder).

A structure becomes a fixed vector of ``STRUCTURE_DIM`` floats, three blocks:

- composition: element fractions over Z = 1..103, and the fraction-weighted mean, standard
  deviation, minimum and maximum of seven element properties (Z, Pauling electronegativity,
  atomic radius, row, group, atomic mass, Mendeleev number);
- symmetry: crystal-system one-hot, space-group number / 230, sites (log), density, volume per atom;
- local environment: a radial distribution fingerprint g(r) in ``RDF_BINS`` bins up to
  ``CUTOFF`` Å, and the mean / spread of coordination numbers (neighbours within 1.2x the nearest).

A text becomes its pooled, normalised sentence embedding (``MultiVectorEncoder``, 384 dims).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from pymatgen.core import Element, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from matlas.errors import InvalidInput
from retrieval.structures import (
    MAX_Z,
    StructureLimits,
    check_structure,
    read_content,
    structure_content,
)

__all__ = ["CUTOFF", "RDF_BINS", "STRUCTURE_DIM", "structure_features", "structure_vector", "text_features"]

CUTOFF = 6.0
RDF_BINS = 24
_MAX_Z = MAX_Z
_SYSTEMS = ("triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal", "cubic")
_PROPS = ("Z", "X", "atomic_radius", "row", "group", "atomic_mass", "mendeleev_no")


def _property_table() -> np.ndarray:
    """``(_MAX_Z, len(_PROPS))`` element properties, missing values filled with the column mean."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = [[float(getattr(Element.from_Z(z), p) or math.nan) for p in _PROPS] for z in range(1, _MAX_Z + 1)]
    table = np.array(rows)
    return np.where(np.isnan(table), np.nanmean(table, axis=0), table)


_TABLE = _property_table()
STRUCTURE_DIM = _MAX_Z + 4 * len(_PROPS) + len(_SYSTEMS) + 4 + RDF_BINS + 2


def _composition_block(structure: Structure) -> np.ndarray:
    comp = structure.composition.element_composition.fractional_composition
    frac = np.zeros(_MAX_Z)
    for el, x in comp.items():  # check_structure let only Z = 1.._MAX_Z through
        frac[el.Z - 1] = x
    props, w = _TABLE[frac > 0], frac[frac > 0][:, None]
    mean = (w * props).sum(0)
    std = np.sqrt((w * (props - mean) ** 2).sum(0))
    return np.concatenate([frac, mean, std, props.min(0), props.max(0)])


def _symmetry_block(structure: Structure) -> np.ndarray:
    sga = SpacegroupAnalyzer(structure, symprec=0.1)
    onehot = np.array([sga.get_crystal_system() == s for s in _SYSTEMS], dtype=float)
    scalars = [sga.get_space_group_number() / 230, math.log(len(structure)), structure.density,
               structure.volume / len(structure)]
    return np.concatenate([onehot, scalars])


def _local_block(structure: Structure) -> np.ndarray:
    centres, _, _, dists = structure.get_neighbor_list(CUTOFF)
    counts = np.histogram(dists, bins=RDF_BINS, range=(0, CUTOFF))[0] / len(structure)
    edges = np.linspace(0, CUTOFF, RDF_BINS + 1)
    shells = 4 / 3 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3) * len(structure) / structure.volume
    nearest = np.full(len(structure), np.inf)
    np.minimum.at(nearest, centres, dists)
    cn = np.bincount(centres[dists <= 1.2 * nearest[centres]], minlength=len(structure)).astype(float)
    return np.concatenate([counts / shells, [cn.mean(), cn.std()]])


def structure_features(structures: Sequence[Structure], limits: StructureLimits | None = None) -> np.ndarray:
    """``(n, STRUCTURE_DIM)`` float64 features; ``InvalidInput`` names a structure that cannot be analysed.

    Every structure passes :func:`~retrieval.structures.check_structure` (``limits``, default
    :class:`~retrieval.structures.StructureLimits`) before spglib and the neighbour search see it.
    """
    rows = []
    for i, s in enumerate(structures):
        if not isinstance(s, Structure):
            raise InvalidInput(f"structure {i} must be a pymatgen Structure, got {type(s).__name__}")
        try:
            check_structure(s, limits or StructureLimits())
        except InvalidInput as err:
            raise InvalidInput(f"structure {i}: {err}") from None
        try:
            rows.append(np.concatenate([_composition_block(s), _symmetry_block(s), _local_block(s)]))
        except InvalidInput:
            raise
        except Exception as err:  # noqa: BLE001 - spglib / neighbour search failures become a caller error
            raise InvalidInput(f"structure {i} ({s.composition.reduced_formula}) cannot be analysed: {err}") from None
    return np.array(rows).reshape(len(rows), STRUCTURE_DIM)


def structure_vector(spec: str | dict[str, Any], limits: StructureLimits | None = None) -> np.ndarray:
    """``(1, STRUCTURE_DIM)`` features of structure content (text or a pymatgen dict, see
    :func:`~retrieval.structures.structure_content`): read, check, analyse. The unit of work the
    API runs in a child process (:class:`~retrieval.isolation.IsolatedCalls`)."""
    limits = limits or StructureLimits()
    return structure_features([read_content(structure_content(spec), limits)], limits)


def text_features(texts: Sequence[str], encoder: Any) -> np.ndarray:
    """``(n, dim)`` pooled normalised embeddings of non-blank ``texts`` from a ``MultiVectorEncoder``."""
    blank = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if blank:
        raise InvalidInput(f"texts must be non-empty strings; blank at positions {blank[:10]}")
    return np.asarray(encoder.encode(list(texts), output="pooled"), dtype=np.float64)
