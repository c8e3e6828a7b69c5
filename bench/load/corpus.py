"""A synthetic N-document materials index built in seconds from a few hundred real encodings.

Each document joins three short phrases (a material, a structure, a property) drawn without
repetition from three pools. Every phrase is encoded once with the server's encoder; a document's
token vectors are its phrases' token vectors one after the other (its pooled vector their
normalised mean), so N documents cost ~260 encoder calls instead of N. The version is published
with ``index.build.publish_encoded``, as a real build publishes one. Honest caveat: token vectors
are contextual within a phrase only, not across the whole document.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from index.build import BuildParams, publish_encoded
from index.manifest import EncoderInfo
from retrieval.corpus import Document
from retrieval.fde import FDEParams

__all__ = ["build_synthetic_index", "phrases"]

_ELEMENTS = ["Li", "Na", "K", "Mg", "Ca", "Sr", "Ba", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga",
             "Ge", "Sn", "Pb", "Al", "Si", "Zr", "Nb", "Mo", "W", "La", "Ce", "Bi", "In"]
_ANIONS = ["O", "N", "S", "Se", "F", "Cl", "P", "C", "Te", "B"]
_STRUCTURES = ["cubic perovskite", "rock-salt", "wurtzite", "zinc blende", "spinel", "layered hexagonal",
               "rutile", "fluorite", "olivine", "garnet", "orthorhombic", "tetragonal", "monoclinic",
               "triclinic", "trigonal corundum", "Heusler", "pyrochlore", "chalcopyrite", "NASICON framework",
               "kagome lattice"]
_PROPERTIES = ["wide band gap semiconductor", "metallic conductor", "ferromagnet with high Curie temperature",
               "battery cathode with high voltage", "solid electrolyte with fast ion conduction",
               "thermoelectric with low thermal conductivity", "transparent conducting oxide", "photocatalyst",
               "topological insulator", "superconductor at low temperature", "hard refractory ceramic",
               "piezoelectric", "ferroelectric", "catalyst for hydrogen evolution", "stable against decomposition",
               "metastable above the convex hull", "antiferromagnetic insulator", "light emitting diode material",
               "solar absorber", "high dielectric constant insulator"]


def phrases() -> tuple[list[str], list[str], list[str]]:
    """The three pools: materials (300), structures (20) and properties (20): 120,000 documents at most."""
    materials = [f"{a}{b}{n} compound" for a in _ELEMENTS for b in _ANIONS for n in ("", "2")][:300]
    return materials, [f"with a {s} crystal structure" for s in _STRUCTURES], [f"used as a {p}." for p in _PROPERTIES]


def build_synthetic_index(root: Path, encoder, n_docs: int, *, fde_dim: int | None = 2048, seed: int = 0) -> dict:
    """Publish an ``n_docs``-document version at ``root``; returns what it cost (seconds per stage).

    ``fde_dim`` count-sketches the FDEs (None keeps the default 10,240 floats per document: 4 GB at
    100k documents, in every worker); no dense or BM25 index (the bench searches in muvera mode).
    """
    pools = phrases()
    capacity = len(pools[0]) * len(pools[1]) * len(pools[2])
    if not 1 <= n_docs <= capacity:
        raise ValueError(f"n_docs must be in [1, {capacity}], got {n_docs}")
    t0 = time.perf_counter()
    encoded = [encoder.encode(pool, kind="document") for pool in pools]
    t_encode = time.perf_counter() - t0
    combos = np.random.default_rng(seed).permutation(capacity)[:n_docs]
    a, rest = np.divmod(combos, len(pools[1]) * len(pools[2]))
    b, c = np.divmod(rest, len(pools[2]))
    docs, tokens = [], []
    for i, (x, y, z) in enumerate(zip(a, b, c)):
        docs.append(Document(id=f"syn-{i:06d}", title=pools[0][x], text=f"{pools[0][x]} {pools[1][y]} {pools[2][z]}"))
        tokens.append(np.concatenate([encoded[0][x], encoded[1][y], encoded[2][z]]))
    pooled = np.stack([t.mean(axis=0) for t in tokens])
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    params = BuildParams(fde=FDEParams(final_projection_dimension=fde_dim), dense=False, bm25=False)
    t1 = time.perf_counter()
    publish_encoded(docs, tokens, pooled.astype(np.float32), root, EncoderInfo.of(encoder), params)
    return {"documents": n_docs, "phrases_encoded": sum(map(len, pools)), "encode_s": round(t_encode, 1),
            "publish_s": round(time.perf_counter() - t1, 1), "build_s": round(time.perf_counter() - t0, 1)}
