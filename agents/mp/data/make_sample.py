"""Regenerate the bundled MP sample (``materials.jsonl``, ``synthesis.jsonl``) beside this file.

Structures are built with pymatgen from textbook lattice constants; property values are
illustrative, MP-like (PBE/GGA+U magnitudes), not copied from the Materials Project.
Synthesis recipes are written in the shared recipe schema with Crossref's test DOI prefix
(10.5555), so no sample recipe can be mistaken for a literature citation.

    python agents/mp/data/make_sample.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from pymatgen.core import Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

HERE = Path(__file__).parent
SYMPREC = 0.1
PROVENANCE = {
    "structure": "built with pymatgen Structure.from_spacegroup (matlas sample)",
    "properties": "illustrative MP-like values (matlas sample, not MP data)",
}


def _sg(symbol, lattice, species, coords) -> Structure:
    return Structure.from_spacegroup(symbol, lattice, species, coords)


# material_id: (structure, properties: gap, e_form, e_hull, K_vrh, G_vrh, magnetism, dielectric).
MATERIALS = {
    "mp-149": (
        _sg("Fd-3m", Lattice.cubic(5.469), ["Si"], [[0, 0, 0]]),
        {"gap": 0.61, "ef": 0.0, "eh": 0.0, "k": 88.0, "g": 62.0, "diel": (12.9, 0.0)},
    ),
    "mp-804": (
        _sg(
            "P6_3mc",
            Lattice.hexagonal(3.216, 5.240),
            ["Ga", "N"],
            [[1 / 3, 2 / 3, 0], [1 / 3, 2 / 3, 0.377]],
        ),
        {"gap": 1.73, "ef": -0.651, "eh": 0.0, "k": 172.0, "g": 105.0, "direct": True, "diel": (5.85, 4.42)},
    ),
    "mp-2534": (
        _sg("F-43m", Lattice.cubic(5.750), ["Ga", "As"], [[0, 0, 0], [0.25, 0.25, 0.25]]),
        {"gap": 0.19, "ef": -0.463, "eh": 0.0, "k": 60.7, "g": 39.6, "direct": True, "diel": (13.9, 1.9)},
    ),
    "mp-2490": (
        _sg("F-43m", Lattice.cubic(5.506), ["Ga", "P"], [[0, 0, 0], [0.25, 0.25, 0.25]]),
        {"gap": 1.59, "ef": -0.528, "eh": 0.0, "k": 78.7, "g": 49.5},
    ),
    "mp-406": (
        _sg("F-43m", Lattice.cubic(6.625), ["Cd", "Te"], [[0, 0, 0], [0.25, 0.25, 0.25]]),
        {"gap": 0.59, "ef": -0.472, "eh": 0.0, "k": 37.9, "g": 16.2, "direct": True},
    ),
    "mp-22862": (
        _sg("Fm-3m", Lattice.cubic(5.691), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
        {"gap": 5.00, "ef": -2.071, "eh": 0.0, "k": 22.3, "g": 14.6, "direct": True, "diel": (2.42, 3.24)},
    ),
    "mp-1265": (
        _sg("Fm-3m", Lattice.cubic(4.254), ["Mg", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
        {"gap": 4.45, "ef": -3.052, "eh": 0.0, "k": 152.0, "g": 116.0, "direct": True, "diel": (3.16, 6.80)},
    ),
    "mp-1960": (
        _sg("Fm-3m", Lattice.cubic(4.633), ["O", "Li"], [[0, 0, 0], [0.25, 0.25, 0.25]]),
        {"gap": 4.99, "ef": -2.071, "eh": 0.0, "k": 76.6, "g": 47.3, "direct": True},
    ),
    "mp-19017": (
        _sg(
            "Pnma",
            Lattice.orthorhombic(10.33, 6.01, 4.69),
            ["Li", "Fe", "P", "O", "O", "O"],
            [
                [0, 0, 0],
                [0.282, 0.25, 0.975],
                [0.095, 0.25, 0.418],
                [0.097, 0.25, 0.743],
                [0.457, 0.25, 0.206],
                [0.166, 0.046, 0.285],
            ],
        ),
        {"gap": 3.70, "ef": -2.561, "eh": 0.0, "k": 94.2, "g": 47.3, "mag": ("FM", 16.0, "Fe")},
    ),
    "mp-13": (
        _sg("Im-3m", Lattice.cubic(2.833), ["Fe"], [[0, 0, 0]]),
        {"gap": 0.0, "ef": 0.0, "eh": 0.0, "k": 184.0, "g": 81.6, "mag": ("FM", 2.21, "Fe")},
    ),
    "mp-23": (
        _sg("Fm-3m", Lattice.cubic(3.518), ["Ni"], [[0, 0, 0]]),
        {"gap": 0.0, "ef": 0.0, "eh": 0.0, "k": 197.0, "g": 93.5, "mag": ("FM", 0.63, "Ni")},
    ),
    "mp-19770": (
        _sg(
            "R-3c", Lattice.hexagonal(5.04, 13.75), ["Fe", "O"], [[0, 0, 0.3553], [0.3059, 0, 0.25]]
        ),
        {"gap": 2.01, "ef": -1.707, "eh": 0.0, "k": 205.0, "g": 91.0, "mag": ("AFM", 0.0, "Fe")},
    ),
    "mp-2657": (
        _sg(
            "P4_2/mnm",
            Lattice.tetragonal(4.653, 2.969),
            ["Ti", "O"],
            [[0, 0, 0], [0.305, 0.305, 0]],
        ),
        {"gap": 1.78, "ef": -3.512, "eh": 0.0, "k": 211.0, "g": 113.0, "direct": True, "diel": (7.32, 116.0)},
    ),
    "mp-390": (
        _sg("I4_1/amd", Lattice.tetragonal(3.785, 9.514), ["Ti", "O"], [[0, 0, 0], [0, 0, 0.2081]]),
        {"gap": 2.05, "ef": -3.499, "eh": 0.013, "k": 179.0, "g": 62.0, "diel": (6.51, 38.2)},
    ),
    "mp-5986": (
        Structure(
            Lattice.rhombohedral(4.04, 89.85),
            ["Ba", "Ti", "O", "O", "O"],
            [
                [0, 0, 0],
                [0.52, 0.52, 0.52],
                [0.49, 0.49, -0.03],
                [0.49, -0.03, 0.49],
                [-0.03, 0.49, 0.49],
            ],
        ),
        {"gap": 2.31, "ef": -3.493, "eh": 0.0, "k": 98.2, "g": 52.1, "diel": (5.93, 40.5)},
    ),
    "mp-2998": (
        _sg(
            "Pm-3m",
            Lattice.cubic(4.036),
            ["Ba", "Ti", "O"],
            [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0]],
        ),
        {"gap": 1.72, "ef": -3.477, "eh": 0.016, "k": 170.0, "g": 96.4},
    ),
    "mp-1143": (
        _sg(
            "R-3c", Lattice.hexagonal(4.807, 13.12), ["Al", "O"], [[0, 0, 0.352], [0.306, 0, 0.25]]
        ),
        {"gap": 5.85, "ef": -3.424, "eh": 0.0, "k": 232.0, "g": 147.0, "direct": True, "diel": (3.13, 7.20)},
    ),
    "mp-22526": (
        _sg(
            "R-3m",
            Lattice.hexagonal(2.82, 14.05),
            ["Co", "Li", "O"],
            [[0, 0, 0], [0, 0, 0.5], [0, 0, 0.26]],
        ),
        {"gap": 2.70, "ef": -1.789, "eh": 0.0, "k": 147.0, "g": 82.0, "mag": ("NM", 0.0, None)},
    ),
    "mp-6930": (
        _sg(
            "P3_221",
            Lattice.hexagonal(4.91, 5.40),
            ["Si", "O"],
            [[0.4697, 0, 2 / 3], [0.4135, 0.2669, 0.2142]],
        ),
        {"gap": 5.69, "ef": -3.116, "eh": 0.0, "k": 38.2, "g": 44.1, "diel": (2.38, 2.15)},
    ),
    "mp-2133": (
        _sg(
            "P6_3mc",
            Lattice.hexagonal(3.289, 5.307),
            ["Zn", "O"],
            [[1 / 3, 2 / 3, 0], [1 / 3, 2 / 3, 0.382]],
        ),
        {"gap": 0.73, "ef": -1.801, "eh": 0.0, "k": 130.0, "g": 45.2, "direct": True, "diel": (5.08, 4.21)},
    ),
    "mp-856": (
        _sg(
            "P4_2/mnm", Lattice.tetragonal(4.83, 3.24), ["Sn", "O"], [[0, 0, 0], [0.307, 0.307, 0]]
        ),
        {"gap": 0.65, "ef": -2.012, "eh": 0.0, "k": 183.0, "g": 98.0, "direct": True},
    ),
    "mp-66": (
        _sg("Fd-3m", Lattice.cubic(3.573), ["C"], [[0, 0, 0]]),
        {"gap": 4.11, "ef": 0.136, "eh": 0.136, "k": 435.0, "g": 519.0, "diel": (5.76, 0.0)},
    ),
    "mp-30": (
        _sg("Fm-3m", Lattice.cubic(3.621), ["Cu"], [[0, 0, 0]]),
        {"gap": 0.0, "ef": 0.0, "eh": 0.0, "k": 137.0, "g": 47.9},
    ),
    "mp-134": (
        _sg("Fm-3m", Lattice.cubic(4.039), ["Al"], [[0, 0, 0]]),
        {"gap": 0.0, "ef": 0.0, "eh": 0.0, "k": 76.4, "g": 26.1},
    ),
    "mp-135": (
        _sg("Im-3m", Lattice.cubic(3.437), ["Li"], [[0, 0, 0]]),
        {"gap": 0.0, "ef": 0.0, "eh": 0.0, "k": 13.9, "g": 4.3},
    ),
}


def material_record(material_id: str, structure: Structure, p: dict) -> dict:
    """One MP-summary-like record: composition and symmetry from pymatgen, properties from ``p``."""
    sga = SpacegroupAnalyzer(structure, symprec=SYMPREC)
    prim = sga.get_primitive_standard_structure()
    comp = prim.composition
    k, g = p["k"], p["g"]
    rec = {
        "material_id": material_id,
        "formula_pretty": comp.reduced_formula,
        "formula_anonymous": comp.anonymized_formula,
        "elements": sorted(el.symbol for el in comp.elements),
        "nelements": len(comp.elements),
        "chemsys": comp.chemical_system,
        "nsites": len(prim),
        "volume": round(prim.volume, 4),
        "density": round(prim.density, 5),
        "density_atomic": round(prim.volume / len(prim), 4),
        "symmetry": {
            "crystal_system": sga.get_crystal_system().capitalize(),
            "symbol": sga.get_space_group_symbol(),
            "number": sga.get_space_group_number(),
            "point_group": sga.get_point_group_symbol(),
            "symprec": SYMPREC,
        },
        "band_gap": p["gap"],
        "is_metal": p["gap"] == 0.0,
        "is_gap_direct": p.get("direct", False),
        "formation_energy_per_atom": p["ef"],
        "energy_above_hull": p["eh"],
        "is_stable": p["eh"] == 0.0,
        "bulk_modulus": {"vrh": k},
        "shear_modulus": {"vrh": g},
        "homogeneous_poisson": round((3 * k - 2 * g) / (2 * (3 * k + g)), 4),
    }
    ordering, total_mag, magnetic = p.get("mag", ("NM", 0.0, None))
    n_magnetic = int(comp[magnetic]) if magnetic else 0
    rec |= {
        "ordering": ordering,
        "is_magnetic": ordering != "NM",
        "total_magnetization": total_mag,
        "total_magnetization_normalized_vol": round(total_mag / prim.volume, 5),
        "total_magnetization_normalized_formula_units": round(
            total_mag / comp.get_reduced_composition_and_factor()[1], 4
        ),
        "num_magnetic_sites": n_magnetic,
        "num_unique_magnetic_sites": 1 if magnetic else 0,
        "types_of_magnetic_species": [magnetic] if magnetic else [],
    }
    if "diel" in p:
        e_electronic, e_ionic = p["diel"]
        rec |= {
            "e_electronic": e_electronic,
            "e_ionic": e_ionic,
            "e_total": round(e_electronic + e_ionic, 2),
            "n": round(math.sqrt(e_electronic), 3),
        }
    rec["structure"] = prim.as_dict()
    rec["_provenance"] = PROVENANCE
    return rec


# (target, mp id, type, precursors, reaction, operations [(type, token, conditions)], excerpt)
RECIPES = [
    (
        "LiFePO4",
        "mp-19017",
        "solid-state",
        ["Li2CO3", "FeC2O4·2H2O", "NH4H2PO4"],
        "0.5 Li2CO3 + 1 FeC2O4·2H2O + 1 NH4H2PO4 == 1 LiFePO4 + 1.5 CO2 + 3.5 H2O + 1 NH3 + 0.5 CO",
        [
            ("MixingOperation", "ball-milled", "media=acetone; device=zirconia"),
            ("HeatingOperation", "calcined", "T=350 C; t=5 h; atmosphere=argon"),
            ("HeatingOperation", "sintered", "T=700 C; t=10 h; atmosphere=argon"),
        ],
        "Stoichiometric Li2CO3, iron oxalate and NH4H2PO4 were ball-milled in acetone, <...> under flowing argon.",
    ),
    (
        "LiFePO4",
        "mp-19017",
        "solid-state",
        ["LiH2PO4", "FeC2O4·2H2O"],
        "1 LiH2PO4 + 1 FeC2O4·2H2O == 1 LiFePO4 + 1 CO2 + 1 CO + 3 H2O",
        [
            ("MixingOperation", "ground", ""),
            ("HeatingOperation", "heated", "T=600 C; t=8 h; atmosphere=N2"),
        ],
        "LiH2PO4 and FeC2O4·2H2O were ground together and heated at 600 C <...> in nitrogen.",
    ),
    (
        "LiFePO4",
        "mp-19017",
        "sol-gel",
        ["LiNO3", "Fe(NO3)3·9H2O", "NH4H2PO4", "C6H8O7"],
        "1 LiNO3 + 1 Fe(NO3)3·9H2O + 1 NH4H2PO4 == 1 LiFePO4 + 4 NO2 + 10 H2O + 1 NH3 + 0.5 O2",
        [
            ("MixingOperation", "dissolved", "media=water"),
            ("DryingOperation", "dried", "T=120 C; t=12 h"),
            ("HeatingOperation", "annealed", "T=650 C; t=6 h; atmosphere=argon/H2"),
        ],
        "Citric acid was added to the aqueous nitrate solution to form a gel, <...> annealed in Ar/H2 at 650 C.",
    ),
    (
        "LiFePO4",
        "mp-19017",
        "solid-state",
        ["Li3PO4", "Fe3(PO4)2·8H2O"],
        "1 Li3PO4 + 1 Fe3(PO4)2·8H2O == 3 LiFePO4 + 8 H2O",
        [
            ("MixingOperation", "milled", "media=ethanol"),
            ("HeatingOperation", "fired", "T=550 C; T=750 C; t=4 h; atmosphere=argon"),
        ],
        "A mixture of Li3PO4 and vivianite was milled in ethanol <...> fired at 550-750 C under argon.",
    ),
    (
        "LiFePO4",
        "mp-19017",
        "sol-gel",
        ["CH3COOLi", "Fe(CH3COO)2", "H3PO4"],
        "1 CH3COOLi + 1 Fe(CH3COO)2 + 1 H3PO4 == 1 LiFePO4 + 3 CH3COOH",
        [
            ("MixingOperation", "stirred", "media=ethylene glycol"),
            ("DryingOperation", "evaporated", "T=80 C"),
            ("HeatingOperation", "calcined", "T=700 C; t=12 h; atmosphere=argon"),
        ],
        "Lithium and iron acetates were stirred with phosphoric acid in ethylene glycol <...> calcined at 700 C.",
    ),
    (
        "LiCoO2",
        "mp-22526",
        "solid-state",
        ["Li2CO3", "Co3O4"],
        "1.5 Li2CO3 + 1 Co3O4 + 0.25 O2 == 3 LiCoO2 + 1.5 CO2",
        [
            ("MixingOperation", "ground", ""),
            ("HeatingOperation", "calcined", "T=900 C; t=12 h; atmosphere=air"),
        ],
        "Li2CO3 and Co3O4 were ground in an agate mortar and calcined at 900 C <...> in air.",
    ),
    (
        "LiCoO2",
        "mp-22526",
        "sol-gel",
        ["LiNO3", "Co(NO3)2·6H2O", "C6H8O7"],
        "1 LiNO3 + 1 Co(NO3)2·6H2O == 1 LiCoO2 + 3 NO2 + 6 H2O + 0.5 O2",
        [
            ("MixingOperation", "dissolved", "media=water"),
            ("DryingOperation", "dried", "T=150 C; t=6 h"),
            ("HeatingOperation", "heated", "T=800 C; t=10 h; atmosphere=O2"),
        ],
        "A citric-acid assisted sol-gel route gave LiCoO2 <...> after heating at 800 C in oxygen.",
    ),
    (
        "LiCoO2",
        "mp-22526",
        "solid-state",
        ["LiOH·H2O", "Co(OH)2"],
        "1 LiOH·H2O + 1 Co(OH)2 + 0.25 O2 == 1 LiCoO2 + 2.5 H2O",
        [
            ("MixingOperation", "mixed", ""),
            ("HeatingOperation", "preheated", "T=500 C; t=5 h; atmosphere=air"),
            ("HeatingOperation", "sintered", "T=850 C; t=20 h; atmosphere=air"),
        ],
        "LiOH·H2O and Co(OH)2 were mixed, preheated at 500 C and <...> sintered at 850 C.",
    ),
    (
        "BaTiO3",
        "mp-5986",
        "solid-state",
        ["BaCO3", "TiO2"],
        "1 BaCO3 + 1 TiO2 == 1 BaTiO3 + 1 CO2",
        [
            ("MixingOperation", "ball-milled", "media=ethanol; device=zirconia"),
            ("HeatingOperation", "calcined", "T=1100 C; t=4 h; atmosphere=air"),
            ("ShapingOperation", "pressed", ""),
            ("HeatingOperation", "sintered", "T=1300 C; t=2 h; atmosphere=air"),
        ],
        "BaCO3 and TiO2 powders were ball-milled in ethanol, calcined at 1100 C, <...> sintered at 1300 C.",
    ),
    (
        "BaTiO3",
        "mp-5986",
        "sol-gel",
        ["Ba(CH3COO)2", "Ti(OC4H9)4"],
        "1 Ba(CH3COO)2 + 1 Ti(OC4H9)4 + 3 H2O == 1 BaTiO3 + 2 CH3COOH + 4 C4H9OH",
        [
            ("MixingOperation", "mixed", "media=acetic acid"),
            ("DryingOperation", "dried", "T=100 C; t=24 h"),
            ("HeatingOperation", "annealed", "T=800 C; t=2 h; atmosphere=air"),
        ],
        "Barium acetate and titanium butoxide in acetic acid formed a transparent sol <...> annealed at 800 C.",
    ),
    (
        "BaTiO3",
        "mp-5986",
        "solid-state",
        ["BaO", "TiO2"],
        "1 BaO + 1 TiO2 == 1 BaTiO3",
        [
            ("MixingOperation", "ground", ""),
            ("HeatingOperation", "heated", "T=1200 C; t=6 h"),
            ("QuenchingOperation", "quenched", ""),
        ],
        "BaO and rutile were ground and heated at 1200 C <...> then quenched to room temperature.",
    ),
    (
        "ZnO",
        "mp-2133",
        "sol-gel",
        ["Zn(CH3COO)2·2H2O"],
        "1 Zn(CH3COO)2·2H2O == 1 ZnO + 2 CH3COOH + 1 H2O",
        [
            ("MixingOperation", "dissolved", "media=ethanol"),
            ("DryingOperation", "dried", "T=90 C"),
            ("HeatingOperation", "annealed", "T=500 C; t=1 h; atmosphere=air"),
        ],
        "Zinc acetate dihydrate was dissolved in ethanol with monoethanolamine <...> annealed at 500 C.",
    ),
    (
        "TiO2",
        "mp-390",
        "sol-gel",
        ["Ti(OCH(CH3)2)4"],
        "1 Ti(OCH(CH3)2)4 + 2 H2O == 1 TiO2 + 4 C3H7OH",
        [
            ("MixingOperation", "hydrolysed", "media=isopropanol"),
            ("DryingOperation", "dried", "T=80 C; t=12 h"),
            ("HeatingOperation", "calcined", "T=450 C; t=2 h; atmosphere=air"),
        ],
        "Titanium isopropoxide was hydrolysed in isopropanol <...> calcined at 450 C to give anatase.",
    ),
    (
        "Li2O",
        "mp-1960",
        "solid-state",
        ["Li2CO3"],
        "1 Li2CO3 == 1 Li2O + 1 CO2",
        [("HeatingOperation", "decomposed", "T=750 C; t=3 h; atmosphere=vacuum")],
        "Li2CO3 was decomposed under dynamic vacuum at 750 C <...> to phase-pure Li2O.",
    ),
    (
        "Fe2O3",
        "mp-19770",
        "solid-state",
        ["FeC2O4·2H2O"],
        "1 FeC2O4·2H2O + 0.75 O2 == 0.5 Fe2O3 + 2 CO2 + 2 H2O",
        [("HeatingOperation", "calcined", "T=600 C; t=2 h; atmosphere=air")],
        "Iron oxalate dihydrate was calcined in air at 600 C <...> yielding hematite.",
    ),
]


def recipe_record(index: int, recipe: tuple) -> dict:
    """One recipe in the shared synthesis schema, with the one-sentence ``text`` summary."""
    target, mp_id, kind, precursors, reaction, operations, excerpt = recipe
    doi = f"10.5555/matlas-sample-{index:03d}"
    steps = "; ".join(f"{token} ({cond})" if cond else token for _, token, cond in operations)
    text = (
        f"{kind} synthesis of {target} ({mp_id}) from precursors {', '.join(precursors)}. "
        f"Reaction: {reaction}. Steps: {steps}. Source DOI: {doi}."
    )
    return {
        "recipe_id": f"sample-{index:05d}",
        "synthesis_type": kind,
        "doi": doi,
        "target_formula": target,
        "target_mp_id": mp_id,
        "targets_string": [target],
        "precursors_formula": precursors,
        "reaction_string": reaction,
        "operations": [
            {"type": t, "token": token, "conditions": cond} for t, token, cond in operations
        ],
        "paragraph_excerpt": excerpt,
        "text": text,
    }


def main() -> None:
    """Write both sample files, one JSON object a line."""
    with open(HERE / "materials.jsonl", "w") as f:
        f.writelines(
            json.dumps(material_record(material_id, structure, props)) + "\n"
            for material_id, (structure, props) in MATERIALS.items()
        )
    with open(HERE / "synthesis.jsonl", "w") as f:
        f.writelines(
            json.dumps(recipe_record(i, recipe), ensure_ascii=False) + "\n"
            for i, recipe in enumerate(RECIPES, start=1)
        )


if __name__ == "__main__":
    main()
