"""A phase diagram of a chemical system from the Materials Project source's entries (pymatgen ``PhaseDiagram``).

Built from formation energies (eV/atom) of every material in the system and its subsystems, with
the elements at 0 eV/atom by definition, so it needs no total energies. When the mp helper's agent
tool ``agents/tools/phase_diagram.py`` lands, the MCP tool should call it instead.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
from pymatgen.core import Composition, Element

from agents.tools._common import rounded
from matlas.errors import InvalidInput
from matlas.settings import Settings
from matlas.wiring import mp_client

__all__ = ["MAX_ELEMENTS", "phase_diagram"]

MAX_ELEMENTS = 6
MAX_ENTRIES = 500


def parse_elements(elements: str) -> list[str]:
    """``"Li, Fe, O"`` or ``"Li-Fe-O"`` as sorted unique element symbols (1 to ``MAX_ELEMENTS``)."""
    symbols = sorted({e.strip() for e in elements.replace("-", ",").split(",") if e.strip()})
    if not symbols or len(symbols) > MAX_ELEMENTS:
        raise InvalidInput(f"give 1 to {MAX_ELEMENTS} elements, e.g. 'Li, Fe, O'; got {elements!r}")
    if bad := [s for s in symbols if not Element.is_valid_symbol(s)]:
        raise InvalidInput(f"{bad} are not element symbols (e.g. Li, Fe, O)")
    return symbols


def phase_diagram(settings: Settings, elements: str) -> dict[str, Any]:
    """Stable phases and the energy above the hull of every entry of the system ``elements``."""
    symbols = parse_elements(elements)
    systems = ["-".join(c) for n in range(1, len(symbols) + 1) for c in combinations(symbols, n)]
    docs = mp_client(settings).search("summary", limit=MAX_ENTRIES, chemsys=systems,
                   fields=["material_id", "formula_pretty", "formation_energy_per_atom"])
    entries = [
        PDEntry(Composition(d["formula_pretty"]),
                d["formation_energy_per_atom"] * Composition(d["formula_pretty"]).num_atoms,
                name=d["formula_pretty"], attribute=d["material_id"])
        for d in docs if d.get("formation_energy_per_atom") is not None
    ]
    if not any(len(e.composition.elements) > 1 for e in entries):
        raise InvalidInput(f"the Materials Project data holds no compound of {'-'.join(symbols)}")
    present = {e.composition.elements[0].symbol for e in entries if len(e.composition.elements) == 1}
    entries += [PDEntry(Composition(s), 0.0, name=s, attribute="reference") for s in symbols if s not in present]
    diagram = PhaseDiagram(entries)
    rows = []
    for entry in sorted(entries, key=lambda e: (diagram.get_e_above_hull(e), e.name)):
        e_hull = float(diagram.get_e_above_hull(entry))
        row = {"material_id": entry.attribute, "formula": entry.name,
               "formation_energy_per_atom": float(diagram.get_form_energy_per_atom(entry)), "e_above_hull": e_hull,
               "stable": bool(e_hull < 1e-8)}
        if not row["stable"]:
            row["decomposes_to"] = sorted(e.name for e in diagram.get_decomposition(entry.composition))
        rows.append(row)
    return rounded({
        "chemsys": "-".join(symbols), "entries": rows,
        "stable": [r["formula"] for r in rows if r["stable"]],
        "units": "eV/atom",
        "method": "pymatgen PhaseDiagram over formation energies; elements at 0 eV/atom "
                  "('reference' marks an element the data lacks)",
    })
