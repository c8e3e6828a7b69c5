"""The illustrative MP sample (``tests/fixtures/mp``) as a snapshot, for tests that need its values."""

from __future__ import annotations

from pathlib import Path

from agents.mp.snapshot import Snapshot

MP_SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "mp"
"""25 materials and 15 recipes with illustrative MP-like values (``make_sample.py``), marked sample."""


def sample_snapshot(path: Path | str) -> Snapshot:
    """The snapshot at ``path``, built from the sample fixture if the file does not exist."""
    return Snapshot.ensure(
        path,
        materials=MP_SAMPLE / "materials.jsonl",
        synthesis=MP_SAMPLE / "synthesis.jsonl",
        provenance=MP_SAMPLE / "provenance.json",
    )


# A hand-checkable Li-Mg system for entries and phase diagrams: energies per atom (eV) of the
# elements and formation energies of the compounds, so the hull is known without pymatgen.
LI_MG = {
    "mp-9001": ("Li", [["Li", [0, 0, 0]], ["Li", [0.5, 0.5, 0.5]]], 3.44, -1.9),
    "mp-9002": ("Mg", [["Mg", [0, 0, 0]]], 3.2, -1.5),
    "mp-9003": ("LiMg", [["Li", [0, 0, 0]], ["Mg", [0.5, 0.5, 0.5]]], 3.45, -0.1),
    "mp-9004": ("LiMg3", [["Li", [0, 0, 0]], ["Mg", [0.5, 0.5, 0]], ["Mg", [0.5, 0, 0.5]],
                          ["Mg", [0, 0.5, 0.5]]], 4.3, -0.02),
}
"""material_id -> (formula, cubic-cell sites, lattice constant Å, energy: elements eV/atom,
compounds formation eV/atom). LiMg sits on the hull (-0.1); LiMg3 lies 0.03 eV/atom above the
LiMg-Mg tie line (-0.05 at x_Mg = 0.75)."""
_POTCARS = {"Li": "PAW_PBE Li_sv 23Jan2001", "Mg": "PAW_PBE Mg_pv 06Sep2000"}


def write_li_mg_entries(path: Path) -> Path:
    """``LI_MG`` as a JSON list of GGA ``ComputedStructureEntry`` dicts (an emmet entries file)."""
    import json

    from pymatgen.core import Lattice, Structure
    from pymatgen.entries.computed_entries import ComputedStructureEntry

    elemental = {"Li": LI_MG["mp-9001"][3], "Mg": LI_MG["mp-9002"][3]}
    entries = []
    for material_id, (_, sites, a, energy) in LI_MG.items():
        structure = Structure(Lattice.cubic(a), [s for s, _ in sites], [c for _, c in sites])
        comp = structure.composition
        per_atom = energy if len(comp) == 1 else energy + sum(
            elemental[str(el)] * comp.get_atomic_fraction(el) for el in comp
        )
        entry = ComputedStructureEntry(
            structure, per_atom * comp.num_atoms, entry_id=material_id,
            parameters={"run_type": "GGA", "is_hubbard": False, "hubbards": {},
                        "potcar_spec": [{"titel": _POTCARS[str(el)], "hash": None} for el in comp]},
            data={"material_id": material_id, "task_id": material_id, "run_type": "GGA",
                  "oxide_type": "None",  # and a date as emmet files serialise it:
                  "last_updated": {"@module": "datetime", "@class": "datetime",
                                   "string": "2021-02-10 04:45:05.154000"}},
        )
        entries.append(entry.as_dict())
    path.write_text(json.dumps(entries))
    return path


def li_mg_snapshot(root: Path) -> Snapshot:
    """The sample fixture plus the ``LI_MG`` entries, at ``root/mp.sqlite``."""
    snapshot = sample_snapshot(root / "mp.sqlite")
    snapshot.import_entries(write_li_mg_entries(root / "li-mg.json"), progress=False)
    return snapshot
