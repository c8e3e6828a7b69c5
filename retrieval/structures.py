"""Crystal structures from untrusted input: read the content, then check it before native code sees it.

``parse_structure`` takes content only (a pymatgen ``Structure`` dict, its JSON text, CIF text,
POSCAR text) or an MP id resolved in a snapshot; it never opens a path it is given, so it is safe
behind the HTTP API. ``read_structure_file`` is the CLI's way to read a local file.

``check_structure`` rejects, with a reason, what the native code downstream (spglib in the
symmetry analysis, the neighbour search) must not be fed: non-finite or degenerate lattices,
angles near 0 or 180 degrees, atoms closer than ``min_distance``, non-finite coordinates,
disordered sites, unknown elements, and more sites than ``max_sites`` (the analysis costs grow
with them: 2,000 atoms took 7 s of CPU).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pymatgen.core import DummySpecies, Element, Structure
from pymatgen.io.cif import CifParser
from pymatgen.io.vasp import Poscar

from matlas.errors import InvalidInput

__all__ = ["MAX_STRUCTURE_CHARS", "StructureLimits", "check_structure", "parse_structure", "read_content", "read_structure_file",
           "structure_content"]

MAX_STRUCTURE_CHARS = 200_000
MAX_Z = 103


@dataclass(frozen=True)
class StructureLimits:
    """What a structure must satisfy to be analysed (lengths in Å, angles in degrees)."""

    max_sites: int = 500
    min_distance: float = 0.5
    min_length: float = 0.5
    max_length: float = 500.0
    min_angle: float = 5.0
    max_angle: float = 175.0
    min_volume_per_site: float = 1.0
    max_coordinate: float = 1e4


DEFAULT_LIMITS = StructureLimits()


def _from_dict(data: dict[str, Any], limits: StructureLimits) -> Structure:
    sites = data.get("sites")
    if not isinstance(sites, list) or not isinstance(data.get("lattice"), dict):
        raise InvalidInput("a structure dict needs 'lattice' (with 'matrix') and a list of 'sites' (pymatgen as_dict)")
    if len(sites) > limits.max_sites:
        raise InvalidInput(f"structure has {len(sites)} sites; at most {limits.max_sites} are analysed")
    return Structure.from_dict(data)


def _from_text(text: str, limits: StructureLimits) -> Structure:
    if text.startswith("{"):
        return _from_dict(json.loads(text), limits)
    if "_cell_length_a" in text or text.startswith("data_") or "\ndata_" in text:
        return CifParser.from_str(text).parse_structures(primitive=False)[0]
    return Poscar.from_str(text).structure


def structure_content(spec: str | dict[str, Any], snapshot: Path | None = None) -> str | dict[str, Any]:
    """``spec`` as structure content: stripped text, a dict, or the snapshot's record of an mp-id."""
    if isinstance(spec, dict):
        return spec
    if not isinstance(spec, str):
        raise InvalidInput(f"a structure is text or a pymatgen dict, not {type(spec).__name__}")
    spec = spec.strip()
    if not spec:
        raise InvalidInput("structure must not be blank")
    if len(spec) > MAX_STRUCTURE_CHARS:
        raise InvalidInput(f"structure text has {len(spec)} characters; at most {MAX_STRUCTURE_CHARS}")
    if spec.startswith("mp-") and "\n" not in spec:
        return _snapshot_record(spec, snapshot)
    return spec


def parse_structure(spec: str | dict[str, Any], snapshot: Path | None = None, *,
                    limits: StructureLimits = DEFAULT_LIMITS) -> Structure:
    """A checked structure from a pymatgen dict, JSON, CIF or POSCAR text, or an mp-id in ``snapshot``."""
    structure = read_content(structure_content(spec, snapshot), limits)
    check_structure(structure, limits)
    return structure


def read_content(spec: str | dict[str, Any], limits: StructureLimits = DEFAULT_LIMITS) -> Structure:
    """A structure from content (a dict, JSON, CIF or POSCAR text), not yet checked; ``InvalidInput`` if unreadable."""
    try:
        return _from_dict(spec, limits) if isinstance(spec, dict) else _from_text(spec, limits)
    except InvalidInput:
        raise
    except Exception as err:  # noqa: BLE001 - pymatgen raises many types on bad CIF/POSCAR/JSON
        reason = str(err).splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise InvalidInput(f"not a readable structure (CIF, POSCAR, pymatgen JSON or mp-id): {reason!r}") from None


def read_structure_file(path: Path | str, *, limits: StructureLimits = DEFAULT_LIMITS) -> Structure:
    """A checked structure from a local CIF, POSCAR or pymatgen JSON file (the CLI's input)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"structure file {str(path)!r} does not exist")
    return parse_structure(path.read_text(errors="replace"), limits=limits)


def _snapshot_record(mp_id: str, snapshot: Path | None) -> dict[str, Any]:
    from retrieval.crossmodal import read_jsonl

    if snapshot is None or not (Path(snapshot) / "materials.jsonl").is_file():
        raise InvalidInput(f"cannot resolve {mp_id!r}: no MP snapshot configured (MATLAS_MP_SNAPSHOT)")
    for record in read_jsonl(Path(snapshot) / "materials.jsonl"):
        if record["material_id"] == mp_id:
            return record["structure"]
    raise InvalidInput(f"material {mp_id!r} is not in the snapshot")


def _check_species(structure: Structure) -> None:
    for i, site in enumerate(structure):
        for sp, occu in site.species.items():
            element = None if isinstance(sp, DummySpecies) else getattr(sp, "element", sp)
            if not isinstance(element, Element) or not 1 <= element.Z <= MAX_Z:
                raise InvalidInput(f"site {i}: {str(sp)[:20]!r} is not a known element (Z = 1..{MAX_Z})")
            if not math.isfinite(occu) or occu <= 0:
                raise InvalidInput(f"site {i}: occupancy {occu!r} must be a positive number")
    if not structure.is_ordered:
        raise InvalidInput("structure must be ordered (one species per site, occupancy 1)")


def check_structure(structure: Structure, limits: StructureLimits = DEFAULT_LIMITS) -> None:
    """Raise ``InvalidInput`` with a reason unless ``structure`` is safe and sane to analyse."""
    n = len(structure)
    if not 1 <= n <= limits.max_sites:
        raise InvalidInput(f"structure has {n} sites; 1 to {limits.max_sites} are analysed")
    _check_species(structure)
    matrix = np.asarray(structure.lattice.matrix, dtype=float)
    if matrix.shape != (3, 3) or not np.isfinite(matrix).all():
        raise InvalidInput("lattice matrix must be 3x3 finite numbers")
    frac = np.asarray(structure.frac_coords, dtype=float)
    if not np.isfinite(frac).all() or np.abs(frac).max() > limits.max_coordinate:
        raise InvalidInput(f"fractional coordinates must be finite and within ±{limits.max_coordinate:g}")
    lengths = np.linalg.norm(matrix, axis=1)
    if lengths.min() < limits.min_length or lengths.max() > limits.max_length:
        raise InvalidInput(f"lattice vector lengths {np.round(lengths, 3).tolist()} Å must lie in "
                           f"[{limits.min_length}, {limits.max_length}]")
    angles = [math.degrees(math.acos(np.clip(matrix[i] @ matrix[j] / (lengths[i] * lengths[j]), -1, 1)))
              for i, j in ((1, 2), (0, 2), (0, 1))]
    if not all(limits.min_angle <= a <= limits.max_angle for a in angles):
        raise InvalidInput(f"lattice angles {np.round(angles, 2).tolist()} must lie in "
                           f"[{limits.min_angle}, {limits.max_angle}] degrees")
    volume = abs(float(np.linalg.det(matrix)))
    if not volume / n >= limits.min_volume_per_site:
        raise InvalidInput(f"cell volume {volume:.3g} Å^3 for {n} sites is below {limits.min_volume_per_site} Å^3 per site")
    shortest = min(structure.lattice.get_lll_reduced_lattice().abc)
    if shortest < limits.min_distance:
        raise InvalidInput(f"an atom is {shortest:.3f} Å from its own periodic image (minimum {limits.min_distance} Å)")
    if n > 1:
        distances = structure.distance_matrix[np.triu_indices(n, 1)]
        if distances.min() < limits.min_distance:
            raise InvalidInput(f"two atoms are {distances.min():.3f} Å apart (minimum {limits.min_distance} Å)")
