"""Phase diagrams built here with pymatgen from MP computed entries, over the REST protocol.

mp-api reads MP's pre-built phase diagrams from object storage, which a snapshot does not have;
this builds the diagram from the entries the ``thermo`` route serves
(``MPRester.get_entries_in_chemsys``), on live MP or on a snapshot with imported entries.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from pydantic import BaseModel, Field

from agents.mp.client import MPClient
from agents.mp.documents import THERMO_TYPE
from matlas.errors import InvalidInput

__all__ = ["Phase", "PhaseDiagramResult", "phase_diagram"]


class Phase(BaseModel):
    """One material of the diagram (its lowest-energy entry)."""

    material_id: str = Field(description="MP id, e.g. mp-19017.")
    formula: str = Field(description="Reduced formula, e.g. LiFePO4.")
    formation_energy_per_atom: float = Field(description="Formation energy (eV/atom).")
    energy_above_hull: float = Field(description="Energy above the convex hull (eV/atom); 0 = stable.")
    decomposes_to: list[str] = Field([], description="Stable phases it decomposes to (formulas).")


class PhaseDiagramResult(BaseModel):
    """A convex hull of one chemical system: the stable phases and the others above the hull."""

    chemsys: str = Field(description="Dash-joined sorted elements, e.g. Fe-Li-O.")
    thermo_type: str = Field(description="MP thermo type of the entries, e.g. GGA_GGA+U.")
    entries: int = Field(description="Computed entries the diagram was built from.")
    stable: list[Phase] = Field(description="Phases on the hull, by formation energy.")
    unstable: list[Phase] = Field(description="Phases above the hull, least unstable first.")
    unstable_total: int = Field(description="How many phases lie above the hull in all.")
    source: dict[str, Any] = Field(description="Where the entries came from (provenance).")


def phase_diagram(
    client: MPClient, chemsys: str, *, thermo_type: str = THERMO_TYPE, max_unstable: int = 20
) -> PhaseDiagramResult:
    """The phase diagram of ``chemsys`` (``Li-Fe-O``) from the MP entries of all its subsystems."""
    from pymatgen.analysis.phase_diagram import PhaseDiagram

    elements = _elements(chemsys)
    with client.rester(use_document_model=False) as mpr, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entries = mpr.get_entries_in_chemsys(
            elements, additional_criteria={"thermo_types": [thermo_type]}
        )
    system = "-".join(sorted(elements))
    if not entries:
        raise InvalidInput(
            f"no computed entries for {system} ({thermo_type}) at {client.endpoint}; a snapshot "
            "gets them from an entries file: matlas mp import --entries FILE"
        )
    present = {str(el) for e in entries for el in e.composition.elements}
    if missing := sorted(set(elements) - present):
        raise InvalidInput(
            f"cannot build the {system} phase diagram: no entry for element(s) {', '.join(missing)}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd = PhaseDiagram(entries)
    phases: dict[str, Phase] = {}
    for entry in entries:
        material_id = str(entry.data.get("material_id") or entry.entry_id)
        decomposition, e_hull = pd.get_decomp_and_e_above_hull(entry, allow_negative=True)
        phase = Phase(
            material_id=material_id,
            formula=entry.composition.reduced_formula,
            formation_energy_per_atom=round(pd.get_form_energy_per_atom(entry), 6),
            energy_above_hull=round(max(e_hull, 0.0), 6),
            decomposes_to=sorted(d.composition.reduced_formula for d in decomposition)
            if e_hull > 1e-9
            else [],
        )
        if material_id not in phases or phase.energy_above_hull < phases[material_id].energy_above_hull:
            phases[material_id] = phase
    stable = sorted(
        (p for p in phases.values() if p.energy_above_hull <= 1e-9),
        key=lambda p: (p.formation_energy_per_atom, p.material_id),
    )
    unstable = sorted(
        (p for p in phases.values() if p.energy_above_hull > 1e-9),
        key=lambda p: (p.energy_above_hull, p.material_id),
    )
    return PhaseDiagramResult(
        chemsys=system,
        thermo_type=thermo_type,
        entries=len(entries),
        stable=stable,
        unstable=unstable[:max_unstable],
        unstable_total=len(unstable),
        source=client.provenance(),
    )


def _elements(chemsys: str) -> list[str]:
    from pymatgen.core import Element

    elements = [e.strip() for e in chemsys.split("-") if e.strip()]
    bad = [e for e in elements if not re.fullmatch(r"[A-Z][a-z]?", e) or not Element.is_valid_symbol(e)]
    if not elements or bad or len(set(elements)) != len(elements):
        raise InvalidInput(
            f"{chemsys!r} is not a chemical system; join distinct element symbols with '-', e.g. Li-Fe-O"
        )
    return elements
