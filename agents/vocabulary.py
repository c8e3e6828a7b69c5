"""What questions name: material properties (synonyms, unit, the tool and field that hold them) and
common, mineral and structure-type names of materials.

Pure data and lookups; ``agents.linker`` reads questions with them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NAMES", "PROPERTIES", "STRUCTURE_TYPES", "MaterialName", "Property", "property_of"]


@dataclass(frozen=True)
class Property:
    """A property a question may ask for, and where the tools keep it."""

    key: str  # canonical name (MP's field name where it has one)
    label: str  # how an answer names it
    unit: str
    tool: str  # the typed tool that returns it
    field: str  # key of the tool's result records
    terms: tuple[str, ...]  # lower-case phrases that ask for it, longest matched first
    sub: str | None = None  # key inside the field (moduli: "vrh")
    higher: str = "larger"  # comparative for "which has the larger ..."


PROPERTIES: dict[str, Property] = {p.key: p for p in (
    Property("band_gap", "band gap", "eV", "get_band_structure_summary", "band_gap",
             ("band gap", "bandgap", "band-gap", "energy gap", "electronic gap", "gap")),
    Property("formation_energy_per_atom", "formation energy", "eV/atom", "get_thermo", "formation_energy_per_atom",
             ("formation energy", "formation enthalpy", "enthalpy of formation", "heat of formation",
              "energy of formation")),
    Property("energy_above_hull", "energy above the convex hull", "eV/atom", "get_thermo", "energy_above_hull",
             ("energy above the convex hull", "energy above the hull", "energy above hull", "e_above_hull",
              "e above hull", "ehull", "hull energy", "distance to the hull", "above the hull", "stability",
              "stable", "metastable")),
    Property("bulk_modulus", "bulk modulus (VRH)", "GPa", "get_elasticity", "bulk_modulus",
             ("bulk modulus", "bulk moduli", "k_vrh", "incompressibility"), sub="vrh", higher="stiffer"),
    Property("shear_modulus", "shear modulus (VRH)", "GPa", "get_elasticity", "shear_modulus",
             ("shear modulus", "shear moduli", "g_vrh", "rigidity modulus"), sub="vrh", higher="stiffer"),
    Property("youngs_modulus", "Young's modulus", "GPa", "get_elasticity", "youngs_modulus",
             ("young's modulus", "youngs modulus", "young modulus", "elastic modulus")),
    Property("density", "density", "g/cm³", "get_properties", "density", ("density", "mass density", "how dense"),
             higher="denser"),
    Property("volume", "cell volume", "Å³", "get_properties", "volume",
             ("unit cell volume", "cell volume", "volume")),
    Property("total_magnetization", "total magnetization", "μB/cell", "get_magnetism", "total_magnetization",
             ("total magnetization", "magnetization", "magnetisation", "magnetic moment", "magnetic")),
    Property("e_total", "dielectric constant (total)", "relative permittivity (ε/ε0)", "get_dielectric", "e_total",
             ("dielectric constant", "permittivity", "dielectric")),
    Property("n", "refractive index", "dimensionless", "get_dielectric", "n",
             ("refractive index", "index of refraction", "refractive")),
    Property("lattice_parameters", "lattice parameters", "Å", "lattice_parameters", "a",
             ("lattice parameters", "lattice parameter", "lattice constants", "lattice constant", "cell parameters",
              "lattice")),
    Property("space_group", "space group", "", "get_properties", "symmetry",
             ("space group", "spacegroup", "symmetry", "crystal structure", "crystal system")),
    Property("synthesis", "synthesis recipe", "", "search_synthesis", "reaction",
             ("synthesis recipe", "synthesis route", "synthesis", "synthesise", "synthesize", "synthesised",
              "synthesized", "recipe", "precursors", "how is it made", "made", "prepared", "prepare")),
)}


def property_of(key: str) -> Property:
    """The property ``key``; ``ValueError`` naming the known ones otherwise."""
    if key not in PROPERTIES:
        raise ValueError(f"unknown property {key!r}; known: {sorted(PROPERTIES)}")
    return PROPERTIES[key]


@dataclass(frozen=True)
class MaterialName:
    """A name that stands for one MP material: its formula and, where the name fixes it, the space group."""

    formula: str
    spacegroup: int | None = None


# common and mineral names -> formula and polymorph (space group number)
NAMES: dict[str, MaterialName] = {
    "rock salt": MaterialName("NaCl", 225), "rocksalt": MaterialName("NaCl", 225), "halite": MaterialName("NaCl", 225),
    "table salt": MaterialName("NaCl", 225), "corundum": MaterialName("Al2O3", 167),
    "sapphire": MaterialName("Al2O3", 167), "alumina": MaterialName("Al2O3"),
    "anatase": MaterialName("TiO2", 141), "rutile": MaterialName("TiO2", 136), "brookite": MaterialName("TiO2", 61),
    "titania": MaterialName("TiO2"), "wurtzite": MaterialName("ZnS", 186), "zincblende": MaterialName("ZnS", 216),
    "zinc blende": MaterialName("ZnS", 216), "sphalerite": MaterialName("ZnS", 216),
    "diamond": MaterialName("C", 227), "graphite": MaterialName("C", 194), "quartz": MaterialName("SiO2", 154),
    "silica": MaterialName("SiO2"), "cristobalite": MaterialName("SiO2", 92), "hematite": MaterialName("Fe2O3", 167),
    "magnetite": MaterialName("Fe3O4", 227), "periclase": MaterialName("MgO", 225), "magnesia": MaterialName("MgO"),
    "fluorite": MaterialName("CaF2", 225), "perovskite": MaterialName("CaTiO3", 62), "calcite": MaterialName("CaCO3", 167),
    "pyrite": MaterialName("FeS2", 205), "cuprite": MaterialName("Cu2O", 224), "wustite": MaterialName("FeO", 225),
    "zincite": MaterialName("ZnO", 186), "cassiterite": MaterialName("SnO2", 136), "galena": MaterialName("PbS", 225),
    "moissanite": MaterialName("SiC", 186), "lithium iron phosphate": MaterialName("LiFePO4"),
    "lithium cobalt oxide": MaterialName("LiCoO2"), "gallium nitride": MaterialName("GaN"),
    "gallium arsenide": MaterialName("GaAs"), "zinc oxide": MaterialName("ZnO"), "magnesium oxide": MaterialName("MgO"),
    "silicon carbide": MaterialName("SiC"), "boron nitride": MaterialName("BN"), "sodium chloride": MaterialName("NaCl"),
    "titanium dioxide": MaterialName("TiO2"), "iron oxide": MaterialName("Fe2O3"),
}

# structure types that name a polymorph of the formula next to them ("wurtzite GaN", "GaN in the rock salt structure")
STRUCTURE_TYPES: dict[str, int] = {
    "wurtzite": 186, "zincblende": 216, "zinc blende": 216, "zinc-blende": 216, "sphalerite": 216,
    "rock salt": 225, "rocksalt": 225, "rock-salt": 225, "halite": 225, "rutile": 136, "anatase": 141,
    "fluorite": 225, "diamond": 227, "spinel": 227, "corundum": 167, "cesium chloride": 221, "caesium chloride": 221,
    "perovskite": 221, "cubic perovskite": 221, "olivine": 62, "nickel arsenide": 194,
}
