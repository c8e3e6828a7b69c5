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
from collections.abc import Iterator
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

__all__ = ["CrossModalData", "CrossModalHit", "CrossModalSearcher", "fit_crossmodal", "load_snapshot",
           "parse_structure"]

MODALITIES = ("text", "structure")
_TEXTS_PER_MATERIAL = 3


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


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
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
        texts += [(f"robocrys-{r['material_id']}", r["description"], r["material_id"], r["formula_pretty"]) for r in _jsonl(p)]
    if (p := mp_dir / "synthesis_recipes.jsonl.gz").is_file():
        texts += [(r["recipe_id"], r["text"], r.get("target_mp_id"), r["target_formula"]) for r in _jsonl(p)]
    linked = {t[2] for t in texts if t[2]}
    records = list(_jsonl(mp_dir / "materials.jsonl"))
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
    xs = structure_features(data.structures) if structure_vectors is None else structure_vectors
    ti, si = (np.array(ix) for ix in zip(*data.pairs))
    hasher.fit((xt[ti], xs[si]), (np.delete(xt, ti, 0), np.delete(xs, np.unique(si), 0)))
    parts = {m: build_binary_index(factory, hasher.encode(x, m)) for m, x in zip(MODALITIES, (xt, xs))}

    def write_extra(directory: Path) -> None:
        hasher.save(directory / "hasher")
        for m, items in zip(MODALITIES, (data.text_items, data.structure_items)):
            (directory / f"{m}.items.jsonl").write_text("".join(json.dumps(it) + "\n" for it in items))

    meta = {"hasher": hasher.manifest.model_dump(mode="json"), "encoder": getattr(encoder, "model_id", None)}
    return publish_binary_version(root, parts, factory, meta=meta, write_extra=write_extra).model_dump(mode="json")


def parse_structure(spec: str | dict[str, Any], snapshot: Path | None = None) -> Structure:
    """A structure from a pymatgen dict, CIF text, a ``.cif``/``.json`` file path, or an mp-id in ``snapshot``."""
    try:
        if isinstance(spec, dict):
            return Structure.from_dict(spec)
        spec = spec.strip()
        if spec.startswith("mp-") and "\n" not in spec:
            return _from_snapshot(spec, snapshot)
        if "\n" not in spec and Path(spec).suffix.lower() in (".cif", ".json"):
            if not Path(spec).is_file():
                raise InvalidInput(f"structure file {spec!r} does not exist")
            return Structure.from_file(spec) if spec.lower().endswith(".cif") else Structure.from_dict(json.loads(Path(spec).read_text()))
        if spec.startswith("{"):
            return Structure.from_dict(json.loads(spec))
        return Structure.from_str(spec, fmt="cif")
    except InvalidInput:
        raise
    except Exception as err:  # noqa: BLE001 - pymatgen raises many types on bad CIF/JSON
        raise InvalidInput(f"not a readable structure (CIF, pymatgen JSON or mp-id): {str(err)[:200] or type(err).__name__}") from None


def _from_snapshot(mp_id: str, snapshot: Path | None) -> Structure:
    if snapshot is None or not (Path(snapshot) / "materials.jsonl").is_file():
        raise InvalidInput(f"cannot resolve {mp_id!r}: no MP snapshot configured (MATLAS_MP_SNAPSHOT)")
    for record in _jsonl(Path(snapshot) / "materials.jsonl"):
        if record["material_id"] == mp_id:
            return Structure.from_dict(record["structure"])
    raise InvalidInput(f"material {mp_id!r} is not in the snapshot {snapshot}")


class CrossModalSearcher:
    """A published cross-modal index: hasher, one binary index and item list per modality."""

    def __init__(self, root: Path | str, encoder: Any) -> None:
        self.manifest, self.parts, directory = open_binary_version(root)
        self.hasher = load_hasher(directory / "hasher")
        self.items = {m: [json.loads(line) for line in (directory / f"{m}.items.jsonl").read_text().splitlines()]
                      for m in MODALITIES}
        self.encoder = encoder

    def search(self, *, text: str | None = None, structure: Structure | None = None, k: int = 10) -> list[CrossModalHit]:
        """Structures for a ``text``, or texts for a ``structure`` (exactly one), nearest codes first."""
        if (text is None) == (structure is None):
            raise InvalidInput("give exactly one of text or structure")
        if text is not None:
            source, target, x = "text", "structure", text_features([text], self.encoder)
        else:
            source, target, x = "structure", "text", structure_features([structure])
        dist, ids = search_binary(self.parts[target], self.hasher.encode(x, source), k)
        return self._hits(target, dist, ids)

    def similar(self, structure: Structure, k: int = 10) -> list[CrossModalHit]:
        """Structures of the index nearest to ``structure`` by the Hamming distance of their structure codes."""
        codes = self.hasher.encode(structure_features([structure]), "structure")
        dist, ids = search_binary(self.parts["structure"], codes, k)
        return self._hits("structure", dist, ids)

    def _hits(self, modality: str, dist: np.ndarray, ids: np.ndarray) -> list[CrossModalHit]:
        items = self.items[modality]
        return [CrossModalHit(rank=r + 1, hamming=int(d), **items[i]) for r, (d, i) in enumerate(zip(dist[0], ids[0])) if i >= 0]
