"""Text <-> crystal-structure search over binary codes from a semi-paired hasher (RREH by default).

``load_snapshot(mp_dir)`` reads an MP snapshot folder into :class:`CrossModalData`: every material
with a structure, every text (robocrys descriptions, synthesis-recipe summaries), and the pairs
between them; texts whose material is not in the snapshot stay unpaired, and so do structures
without text. ``fit_crossmodal`` learns the hasher, codes both sides and publishes one version
with a FAISS binary index per side; :class:`CrossModalSearcher` answers queries from either side.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from pymatgen.core import Composition, Structure

from index.binary import (
    build_binary_index,
    open_binary_version,
    publish_binary_version,
    search_binary,
)
from matlas.errors import InvalidInput
from retrieval.hashing import RREH, Hasher, load_hasher
from retrieval.hashing.features import structure_features, text_features
from retrieval.structures import StructureLimits

__all__ = ["CrossModalData", "CrossModalHit", "CrossModalSearcher", "fit_crossmodal", "load_snapshot", "read_jsonl"]

MODALITIES = ("text", "structure")
_TEXTS_PER_MATERIAL = 3
_SNAPSHOT_LIMITS = StructureLimits(max_sites=100_000)  # a snapshot is trusted data: sanity checks, no size cap


class CrossModalHit(BaseModel):
    """One retrieved item of the other modality."""

    rank: int = Field(description="1-based rank.")
    id: str = Field(description="Material id (structures) or text id (descriptions, recipes).")
    hamming: int = Field(description="Hamming distance between query and item codes (bits).")
    title: str = Field(description="Formula and a short label, for people.")
    chemsys: str = Field(description="Chemical system of the item, e.g. 'Fe-O'.")
    material_id: str | None = Field(None, description="MP id the item belongs to, when known.")


@dataclass
class CrossModalData:
    """Items of both modalities; ``pairs`` holds ``(text_index, structure_index)``."""

    structures: list[Structure]
    structure_items: list[dict[str, Any]]
    texts: list[str]
    text_items: list[dict[str, Any]]
    pairs: list[tuple[int, int]] = field(default_factory=list)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        yield from (json.loads(line) for line in f if line.strip())


def _chemsys(formula: str) -> str | None:
    try:
        return Composition(formula).chemical_system
    except Exception:  # noqa: BLE001 - text-mined formulas with variables ("La3Ga5.5-xAlxO14") have none
        return None


def load_snapshot(mp_dir: Path | str, *, max_structures: int | None = None, max_unpaired_texts: int = 2000) -> CrossModalData:
    """Structures, texts and pairs of an MP snapshot folder (``materials.jsonl`` and text files beside it)."""
    mp_dir = Path(mp_dir)
    if not (mp_dir / "materials.jsonl").is_file():
        raise InvalidInput(f"no materials.jsonl in {mp_dir} (set MATLAS_MP_SNAPSHOT or pass --snapshot)")
    texts: list[tuple[str, str, str | None, str]] = []  # (id, text, material_id, formula)
    if (p := mp_dir / "descriptions_robocrys.jsonl").is_file():
        texts += [(f"robocrys-{r['material_id']}", r["description"], r["material_id"], r["formula_pretty"]) for r in read_jsonl(p)]
    if (p := mp_dir / "synthesis_recipes.jsonl.gz").is_file():
        texts += [(r["recipe_id"], r["text"], r.get("target_mp_id"), r["target_formula"]) for r in read_jsonl(p)]
    linked = {t[2] for t in texts if t[2]}
    records = list(read_jsonl(mp_dir / "materials.jsonl"))
    records.sort(key=lambda r: (r["material_id"] not in linked, int(r["material_id"].split("-")[1])))
    records = records[:max_structures] if max_structures else records
    position = {r["material_id"]: i for i, r in enumerate(records)}
    data = CrossModalData([Structure.from_dict(r["structure"]) for r in records],
                          [{"id": r["material_id"], "title": f"{r['formula_pretty']} ({r['symmetry']['symbol']})",
                            "chemsys": r["chemsys"], "material_id": r["material_id"]} for r in records], [], [])
    per_material: dict[str, int] = {}
    unpaired = 0
    for tid, text, mid, formula in texts:
        chemsys = _chemsys(formula)
        if chemsys is None or not text.strip():
            continue
        if mid in position:
            if per_material.get(mid, 0) >= _TEXTS_PER_MATERIAL:
                continue
            per_material[mid] = per_material.get(mid, 0) + 1
            data.pairs.append((len(data.texts), position[mid]))
        elif unpaired >= max_unpaired_texts:
            continue
        else:
            unpaired += 1
        data.texts.append(text)
        data.text_items.append({"id": tid, "title": f"{formula}: {text[:60]}", "chemsys": chemsys,
                                "material_id": mid if mid in position else None})
    return data


def default_hasher(bits: int, seed: int = 0) -> Hasher:
    """The platform's hasher: RREH over RBF-kernel features."""
    return RREH(bits, modalities=MODALITIES, kernel=500, seed=seed)


def fit_crossmodal(data: CrossModalData, root: Path | str, encoder: Any, *, hasher: Hasher | None = None,
                   factory: str = "BFlat", text_vectors: np.ndarray | None = None,
                   structure_vectors: np.ndarray | None = None) -> dict[str, Any]:
    """Fit ``hasher`` (default :func:`default_hasher` at 64 bits), code both sides, publish; the manifest as a dict."""
    if not data.pairs:
        raise InvalidInput("the snapshot has no text-structure pairs to learn from")
    hasher = hasher or default_hasher(64)
    xt = text_features(data.texts, encoder) if text_vectors is None else text_vectors
    xs = structure_features(data.structures, _SNAPSHOT_LIMITS) if structure_vectors is None else structure_vectors
    ti, si = (np.array(ix) for ix in zip(*data.pairs))
    hasher.fit((xt[ti], xs[si]), (np.delete(xt, ti, 0), np.delete(xs, np.unique(si), 0)))
    parts = {m: build_binary_index(factory, hasher.encode(x, m)) for m, x in zip(MODALITIES, (xt, xs))}

    def write_extra(directory: Path) -> None:
        hasher.save(directory / "hasher")
        for m, items in zip(MODALITIES, (data.text_items, data.structure_items)):
            (directory / f"{m}.items.jsonl").write_text("".join(json.dumps(it) + "\n" for it in items))

    meta = {"hasher": hasher.manifest.model_dump(mode="json"), "encoder": getattr(encoder, "model_id", None)}
    return publish_binary_version(root, parts, factory, meta=meta, write_extra=write_extra).model_dump(mode="json")


class CrossModalSearcher:
    """A published cross-modal index: hasher, one binary index and item list per modality.

    Texts are encoded with the encoder the manifest records (``load_encoder(model_id)``, loaded on
    the first text query); ``default_encoder`` names one only for indexes that record none.
    """

    def __init__(self, root: Path | str, load_encoder: Callable[[str], Any] | None = None, *,
                 default_encoder: str | None = None) -> None:
        self.manifest, self.parts, directory = open_binary_version(root)
        self.hasher = load_hasher(directory / "hasher")
        self.items = {m: [json.loads(line) for line in (directory / f"{m}.items.jsonl").read_text().splitlines()]
                      for m in MODALITIES}
        self.encoder_model: str | None = self.manifest.meta.get("encoder") or default_encoder
        self._load_encoder = load_encoder
        self._encoder: Any = None

    @property
    def encoder(self) -> Any:
        """The text encoder of this index (the manifest's model), loaded on first use."""
        if self._encoder is None:
            if self._load_encoder is None or self.encoder_model is None:
                raise InvalidInput(f"index {self.manifest.name!r} records no text encoder; it answers structure queries only")
            self._encoder = self._load_encoder(self.encoder_model)
        return self._encoder

    def search(self, *, text: str | None = None, structure: Structure | None = None, k: int = 10) -> list[CrossModalHit]:
        """Structures for a ``text``, or texts for a ``structure`` (exactly one), nearest codes first."""
        if (text is None) == (structure is None):
            raise InvalidInput("give exactly one of text or structure")
        if text is not None:
            return self.search_features(text_features([text], self.encoder), "text", k)
        return self.search_features(structure_features([structure]), "structure", k)

    def search_features(self, x: np.ndarray, modality: str, k: int = 10) -> list[CrossModalHit]:
        """Items of the other modality for features ``x`` ``(1, dim)`` of ``modality`` ('text' or 'structure')."""
        target = MODALITIES[1 - MODALITIES.index(modality)]
        dist, ids = search_binary(self.parts[target], self.hasher.encode(x, modality), k)
        return self._hits(target, dist, ids)

    def similar(self, structure: Structure, k: int = 10) -> list[CrossModalHit]:
        """Structures of the index nearest to ``structure`` by the Hamming distance of their structure codes."""
        return self.similar_features(structure_features([structure]), k)

    def similar_features(self, x: np.ndarray, k: int = 10) -> list[CrossModalHit]:
        """Structures nearest to structure features ``x`` ``(1, dim)`` (features read in a child process by the API)."""
        dist, ids = search_binary(self.parts["structure"], self.hasher.encode(x, "structure"), k)
        return self._hits("structure", dist, ids)

    def _hits(self, modality: str, dist: np.ndarray, ids: np.ndarray) -> list[CrossModalHit]:
        items = self.items[modality]
        return [CrossModalHit(rank=r + 1, hamming=int(d), **items[i]) for r, (d, i) in enumerate(zip(dist[0], ids[0])) if i >= 0]
