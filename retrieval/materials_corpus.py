"""Default materials corpus: texts generated from data shipped inside the installed pymatgen only.

Sources: the AFLOW prototype library (``pymatgen/analysis/prototypes/aflow_prototypes.json.gz``),
the example structures of ``pymatgen.util.testing`` (``pymatgen/util/structures/*.json``) and the
periodic table (``pymatgen/core/periodic_table.json.gz``, read through ``pymatgen.core.Element``).
"""

from __future__ import annotations

import gzip
import json
import math
import warnings
from collections import Counter
from importlib.resources import files
from typing import Any

from pymatgen.core import Composition, Element, PeriodicSite, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from retrieval.corpus import Document

__all__ = ["build_materials_corpus", "materials_corpus"]

_PROTOTYPES = files("pymatgen.analysis") / "prototypes" / "aflow_prototypes.json.gz"
_EXAMPLES = files("pymatgen.util") / "structures"
# AFLOW prototypes have idealised coordinates; the examples are (relaxed) calculations.
_SYMPREC = {"aflow": 0.01, "example": 0.1}
_NEIGHBOUR_CUTOFF = 6.0  # Å, search radius for coordination numbers
_CATEGORIES = (
    ("is_alkali", "alkali metal"),
    ("is_alkaline", "alkaline-earth metal"),
    ("is_transition_metal", "transition metal"),
    ("is_lanthanoid", "lanthanide"),
    ("is_actinoid", "actinide"),
    ("is_post_transition_metal", "post-transition metal"),
    ("is_metalloid", "metalloid"),
    ("is_chalcogen", "chalcogen"),
    ("is_halogen", "halogen"),
    ("is_noble_gas", "noble gas"),
)


def _categories(el: Element) -> list[str]:
    return [label for attr, label in _CATEGORIES if getattr(el, attr)]


def _oxidation_guess(comp: Composition) -> dict[str, float] | None:
    """First integer charge-balanced guess for small ordered compounds, else None (cheap)."""
    red = comp.reduced_composition
    if len(red) < 2 or red.num_atoms > 20 or any(not float(n).is_integer() for n in red.values()):
        return None
    guesses = red.oxi_state_guesses()
    return next((g for g in guesses if all(float(v).is_integer() for v in g.values())), None)


def _label(site: PeriodicSite) -> str:
    """Element symbol of an ordered site (oxidation state dropped), else the species string."""
    return site.species.elements[0].symbol if site.is_ordered else site.species_string


def _coordination(
    s: Structure, sga: SpacegroupAnalyzer, charges: dict[str, float] | None
) -> tuple[dict[str, list[int]], float]:
    """Coordination numbers per species over symmetry-distinct sites, and the shortest distance.

    With an oxidation-state guess only cations count, by anion neighbours within 20 % of the
    nearest one; otherwise every site counts all neighbours within 10 % of the nearest one.
    """
    cns: dict[str, set[int]] = {}
    shortest = math.inf
    for orbit in sga.get_symmetrized_structure().equivalent_indices:
        site = s[orbit[0]]
        label = _label(site)
        neighbours = s.get_neighbors(site, _NEIGHBOUR_CUTOFF)
        shortest = min([shortest, *(n.nn_distance for n in neighbours)])
        if charges is not None:
            if charges.get(label, 0) <= 0:
                continue
            neighbours = [n for n in neighbours if charges.get(_label(n), 0) < 0]
        dists = [n.nn_distance for n in neighbours]
        if dists:
            limit = (1.2 if charges else 1.1) * min(dists)
            cns.setdefault(label, set()).add(sum(d <= limit for d in dists))
    return {sp: sorted(v) for sp, v in sorted(cns.items())}, shortest


def _describe(s: Structure, symprec: float) -> tuple[list[str], dict[str, Any]]:
    """Sentences (symmetry, cell, chemistry, coordination) and metadata for one structure."""
    sga = SpacegroupAnalyzer(s, symprec=symprec)
    symbol, number = sga.get_space_group_symbol(), sga.get_space_group_number()
    system = sga.get_crystal_system()
    lat = sga.get_conventional_standard_structure().lattice
    comp = s.composition.element_composition  # drops oxidation-state decorations
    density = s.density
    elements = sorted(comp.elements, key=lambda e: e.symbol)
    names = [f"{e} ({', '.join(_categories(e))})" if _categories(e) else str(e) for e in elements]
    sentences = [
        f"Space group {symbol} (No. {number}), {system} crystal system.",
        (f"Conventional cell: a = {lat.a:.3f} Å, b = {lat.b:.3f} Å, c = {lat.c:.3f} Å, "
         f"α = {lat.alpha:.1f}°, β = {lat.beta:.1f}°, γ = {lat.gamma:.1f}°."),
        (f"Sites in the cell: {len(s)}; density {density:.3f} g/cm^3; "
         f"volume per atom {s.volume / len(s):.2f} Å^3."),
        f"Elements: {', '.join(names)}.",
    ]
    chis = [e.X for e in elements if not math.isnan(e.X)]
    if len(elements) > 1 and len(chis) > 1:
        sentences.append(f"Pauling electronegativity difference {max(chis) - min(chis):.2f}.")
    guess = _oxidation_guess(comp)
    if guess:
        states = ", ".join(f"{el} {int(v):+d}" for el, v in sorted(guess.items()))
        sentences.append(f"Formal oxidation-state guess: {states}.")
    cns, shortest = _coordination(s, sga, guess)
    listed = "; ".join(f"{sp} {', '.join(map(str, v))}" for sp, v in cns.items())
    if cns and guess:
        sentences.append(f"Cation coordination by anions (within 20 % of the nearest): {listed}.")
    elif cns:
        sentences.append(f"Coordination numbers (within 10 % of the nearest distance): {listed}.")
    if math.isfinite(shortest):
        sentences.append(f"Shortest interatomic distance {shortest:.3f} Å.")
    metadata = {
        "formula": comp.reduced_formula,
        "elements": [e.symbol for e in elements],
        "spacegroup_symbol": symbol,
        "spacegroup_number": number,
        "crystal_system": system,
        "nsites": len(s),
        "density": round(density, 4),
        "has_transition_metal": any(e.is_transition_metal for e in elements),
        "has_alkali_metal": any(e.is_alkali for e in elements),
    }
    return sentences, metadata


def _prototype_docs() -> tuple[list[Document], int]:
    with _PROTOTYPES.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        library = json.load(f)
    repeated = Counter(entry["tags"]["aflow"] for entry in library)
    docs, failed = [], 0
    for entry in library:
        tags = entry["tags"]
        aflow, mineral = tags["aflow"], tags["mineral"].strip()
        strukturbericht = "" if tags["strukturbericht"] == "None" else tags["strukturbericht"]
        try:
            structure = Structure.from_dict(entry["snl"])
            sentences, metadata = _describe(structure, _SYMPREC["aflow"])
        except Exception:  # noqa: BLE001 - whatever pymatgen cannot analyse is dropped, and counted
            failed += 1
            continue
        formula = metadata["formula"]
        labels = [f"Pearson symbol {tags['pearson']}"]
        labels += [f"Strukturbericht {strukturbericht}"] if strukturbericht else []
        labels += [f"name: {mineral}"] if mineral else []
        intro = f"{formula} in the AFLOW crystallographic prototype {aflow} ({', '.join(labels)})."
        short = "; ".join(filter(None, [mineral, strukturbericht, f"AFLOW {aflow}"]))
        doc_id = f"proto-{aflow}" + (f"-{formula}" if repeated[aflow] > 1 else "")
        metadata |= {
            "source": "pymatgen AFLOW prototype library",
            "prototype": aflow,
            "pearson": tags["pearson"],
            "strukturbericht": strukturbericht or None,
            "mineral": mineral or None,
        }
        title, text = f"{formula} ({short}) crystal structure", " ".join([intro, *sentences])
        docs.append(Document(id=doc_id, title=title, text=text, metadata=metadata))
    return docs, failed


def _example_docs() -> tuple[list[Document], int]:
    docs, failed = [], 0
    for path in sorted(_EXAMPLES.iterdir(), key=lambda p: p.name):
        name = path.name.removesuffix(".json")
        try:
            # plain dicts: Interface / TransformedStructure dicts hold the (final) structure too
            structure = Structure.from_dict(json.loads(path.read_text(encoding="utf-8")))
            sentences, metadata = _describe(structure, _SYMPREC["example"])
        except Exception:  # noqa: BLE001 - whatever pymatgen cannot analyse is dropped, and counted
            failed += 1
            continue
        formula = metadata["formula"]
        intro = f"{formula}: example crystal structure '{name}' from pymatgen's test utilities."
        metadata |= {"source": "pymatgen.util.testing structures", "prototype": None}
        title = f"{formula} crystal structure (pymatgen example {name})"
        text = " ".join([intro, *sentences])
        docs.append(Document(id=f"example-{name}", title=title, text=text, metadata=metadata))
    return docs, failed


def _element_doc(el: Element) -> Document:
    facts = [
        (f"{el.long_name} ({el.symbol}) is the chemical element with atomic number {el.Z}, "
         f"in group {el.group} and period {el.row} of the periodic table ({el.block}-block)."),
        f"Atomic mass {float(el.atomic_mass):.6g} u.",
    ]
    if _categories(el):
        facts.append(f"Category: {', '.join(_categories(el))}.")
    if not math.isnan(el.X):
        facts.append(f"Pauling electronegativity {el.X:.2f}.")
    if states := ", ".join(f"{v:+d}" for v in el.common_oxidation_states):
        facts.append(f"Common oxidation states: {states}.")
    configuration = el.data.get("Electronic structure", {}).get("0")
    if configuration:
        facts.append(f"Ground-state electron configuration {configuration}.")
    if el.melting_point is not None:
        facts.append(f"Melting point {float(el.melting_point):.6g} K.")
    return Document(
        id=f"element-{el.symbol}",
        title=f"{el.long_name} ({el.symbol}), chemical element {el.Z}",
        text=" ".join(facts),
        metadata={
            "source": "pymatgen periodic table",
            "symbol": el.symbol,
            "atomic_number": el.Z,
            "group": el.group,
            "period": el.row,
            "block": el.block,
        },
    )


def build_materials_corpus() -> tuple[list[Document], int]:
    """The corpus documents and how many structures pymatgen failed to analyse (dropped)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prototypes, failed_prototypes = _prototype_docs()
        examples, failed_examples = _example_docs()
        elements = [_element_doc(el) for el in sorted(Element, key=lambda e: e.Z)]
    return prototypes + examples + elements, failed_prototypes + failed_examples


def materials_corpus() -> list[Document]:
    """Deterministic default corpus (~430 docs): prototype, example-structure and element texts."""
    return build_materials_corpus()[0]
