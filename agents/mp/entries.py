"""Computed entries -> MP thermo: emmet entry files become snapshot records with ``entries``.

An entries file is a JSON list (``.json`` or ``.json.gz``) of pymatgen ``ComputedStructureEntry``
dicts whose ``data`` carries ``material_id`` and ``run_type``, as emmet's test files and
``MPRester.get_entries(..., compatible_only=False)`` give them. The entries are corrected with
``MaterialsProject2020Compatibility`` and their hull is built with emmet's own
``ThermoDoc.from_entries`` (MP's mixed GGA/GGA+U thermo type), one chemical system at a time.
"""

from __future__ import annotations

import gzip
import json
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

from matlas.errors import InvalidInput

__all__ = ["THERMO_FIELDS", "read_entries", "thermo_records"]

THERMO_FIELDS = (
    "energy_per_atom", "uncorrected_energy_per_atom", "formation_energy_per_atom",
    "energy_above_hull", "is_stable", "equilibrium_reaction_energy_per_atom", "decomposes_to",
)
"""Thermo fields an entries import fills where a record lacks them."""
_IDENTITY = ("formula_pretty", "formula_anonymous", "chemsys", "elements", "nelements", "nsites",
             "volume", "density", "density_atomic", "symmetry")


def read_entries(source: Path | str) -> list[dict[str, Any]]:
    """The entry dicts of a JSON(.gz) list, each checked to name its material and run type."""
    source = Path(source)
    if not source.is_file():
        raise InvalidInput(f"no such file: {source}")
    opener = gzip.open if source.suffix == ".gz" else open
    try:
        with opener(source, "rt", encoding="utf-8") as f:
            entries = json.load(f)
    except (json.JSONDecodeError, OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"{source}: not a JSON list of computed entries ({err})") from None
    if not isinstance(entries, list):
        raise InvalidInput(f"{source}: expected a JSON list of entries, got {type(entries).__name__}")
    for i, entry in enumerate(entries):
        data = entry.get("data") if isinstance(entry, dict) else None
        if not isinstance(data, dict) or not data.get("material_id") or "energy" not in entry:
            raise InvalidInput(
                f"{source}: entry {i} is not a ComputedStructureEntry dict with energy and "
                "data.material_id"
            )
        data.setdefault("run_type", (entry.get("parameters") or {}).get("run_type", "GGA"))
    return entries


def thermo_records(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One snapshot record per material: identity, final structure, GGA/GGA+U thermo, ``entries``."""
    from emmet.core.mpid import AlphaID
    from emmet.core.thermo import ThermoDoc
    from emmet.core.types.enums import ThermoType
    from pymatgen.entries.compatibility import MaterialsProject2020Compatibility
    from pymatgen.entries.computed_entries import ComputedStructureEntry

    by_system: dict[str, list[ComputedStructureEntry]] = defaultdict(list)
    for entry in map(ComputedStructureEntry.from_dict, entries):
        by_system[entry.composition.chemical_system].append(entry)
    # a system's hull needs every subsystem's entries: build each top system once with them all
    tops = [s for s in by_system if not any(set(s.split("-")) < set(t.split("-")) for t in by_system)]
    records: dict[str, dict[str, Any]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # compatibility and emmet warn per entry
        for top in tops:
            elements = set(top.split("-"))
            group = [e for s, es in by_system.items() if set(s.split("-")) <= elements for e in es]
            corrected = MaterialsProject2020Compatibility().process_entries(group)
            structures = {str(e.data["material_id"]): e.structure for e in corrected}
            for doc in ThermoDoc.from_entries(corrected, ThermoType.GGA_GGA_U):
                d = doc.model_dump(mode="json")
                material_id = str(AlphaID(d["material_id"]).formatted)  # emmet writes mp-aaacqxor
                if material_id in records:
                    continue
                for run_type, entry in d["entries"].items():
                    entry["entry_id"] = f"{material_id}-{run_type}"  # MP's thermo entry ids
                    _plain_dates(entry.get("data") or {})
                for product in d.get("decomposes_to") or []:
                    product["material_id"] = str(AlphaID(product["material_id"]).formatted)
                records[material_id] = {
                    "material_id": material_id,
                    **{k: d[k] for k in _IDENTITY},
                    "structure": structures[material_id].as_dict(),
                    **{k: d.get(k) for k in THERMO_FIELDS},
                    "entries": d["entries"],
                }
    return list(records.values())


def _plain_dates(data: dict[str, Any]) -> None:
    """Serialised datetimes (``{"@class": "datetime", "string": ...}``) as ISO strings, as MP's
    thermo entries carry them (the client's models refuse the monty form)."""
    for key, value in data.items():
        if isinstance(value, dict) and value.get("@class") == "datetime" and "string" in value:
            data[key] = value["string"].replace(" ", "T")
