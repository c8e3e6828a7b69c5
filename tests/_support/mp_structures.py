"""A tiny MP-like snapshot folder for cross-modal tests: rock-salt and bcc structures, described or not."""

from __future__ import annotations

import json
from pathlib import Path

from pymatgen.core import Lattice, Structure

ROCKSALT = [("NaCl", ["Na", "Cl"], 5.64), ("KCl", ["K", "Cl"], 6.29), ("MgO", ["Mg", "O"], 4.21),
            ("LiF", ["Li", "F"], 4.03), ("CaO", ["Ca", "O"], 4.81)]
BCC = [("Fe", 2.87), ("W", 3.16), ("Cr", 2.88), ("Mo", 3.15)]


def write_snapshot(folder: Path) -> list[tuple[str, str, Structure, str]]:
    """Write ``materials.jsonl`` and ``descriptions_robocrys.jsonl`` into ``folder``; the
    ``(material_id, formula, structure, chemsys)`` rows. mp-104 and mp-203 have no text, mp-999's
    text has no structure."""
    rows, texts = [], []
    for i, (formula, els, a) in enumerate(ROCKSALT):
        s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), els, [[0, 0, 0], [0.5, 0.5, 0.5]])
        rows.append((f"mp-{100 + i}", formula, s, "-".join(sorted(els))))
        texts.append((f"mp-{100 + i}", formula, (f"{formula} crystallizes in the rock-salt structure; "
                                                  f"octahedral {els[0]} bonded to six {els[1]} atoms, an ionic salt.")))
    for i, (el, a) in enumerate(BCC):
        s = Structure(Lattice.cubic(a), [el, el], [[0, 0, 0], [0.5, 0.5, 0.5]])
        rows.append((f"mp-{200 + i}", el, s, el))
        texts.append((f"mp-{200 + i}", el, f"{el} is a body-centered cubic metal; each atom has eight metallic neighbours."))
    texts.append(("mp-999", "NiO", "NiO crystallizes in the rock-salt structure, an ionic oxide."))  # unpaired text
    texts = [t for t in texts if t[0] not in ("mp-104", "mp-203")]  # unpaired structures
    with open(folder / "materials.jsonl", "w") as f:
        for mid, formula, s, chemsys in rows:
            f.write(json.dumps({"material_id": mid, "formula_pretty": formula, "chemsys": chemsys,
                                "symmetry": {"symbol": "Fm-3m" if "-" in chemsys else "Im-3m"},
                                "structure": s.as_dict()}) + "\n")
    with open(folder / "descriptions_robocrys.jsonl", "w") as f:
        for mid, formula, text in texts:
            f.write(json.dumps({"material_id": mid, "formula_pretty": formula, "description": text}) + "\n")
    return rows
