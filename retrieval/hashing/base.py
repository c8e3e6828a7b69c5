"""The shared shape of cross-modal hashers: per-modality feature maps, linear hash functions, I/O.

Every hasher here learns, for each of its two modalities ``m``, a feature map ``phi_m`` (centering,
optionally an RBF kernel over anchors sampled from the training data) and a linear projection
``W_m`` ``(d'_m, bits)``; a sample's code is ``sign(phi_m(x) @ W_m)``. Subclasses only implement
``_fit``; encoding, validation, saving and loading live here once.

A saved hasher is a directory with ``hasher.json`` (a :class:`HasherManifest`) and ``params.npz``.
"""

from __future__ import annotations

import abc
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field

from matlas.errors import InvalidInput

__all__ = ["BITS", "FORMAT_VERSION", "Hasher", "HasherManifest", "load_hasher", "pack_codes", "unpack_codes"]

BITS = (16, 32, 64, 128)
FORMAT_VERSION = 1
_KINDS: dict[str, type[Hasher]] = {}


def pack_codes(signs: np.ndarray) -> np.ndarray:
    """``(n, bits)`` signs (>= 0 is bit 1) to FAISS binary codes ``(n, bits // 8)`` uint8.

    >>> pack_codes(np.array([[1, -1, -1, -1, -1, -1, -1, 1]])).tolist()
    [[129]]
    """
    return np.packbits(np.asarray(signs) >= 0, axis=1, bitorder="little")


def unpack_codes(codes: np.ndarray) -> np.ndarray:
    """FAISS binary codes ``(n, nbytes)`` uint8 to ``(n, 8 * nbytes)`` signs in {-1, 1} (int8)."""
    bits = np.unpackbits(np.asarray(codes, dtype=np.uint8), axis=1, bitorder="little")
    return (bits.astype(np.int8) * 2 - 1).astype(np.int8)


class HasherManifest(BaseModel):
    """What a fitted hasher is: kind, code length, modalities, parameters, seed and data sizes."""

    format_version: int = Field(FORMAT_VERSION, description="On-disk format of the hasher files.")
    kind: str = Field(description="Hasher class key: 'rreh', 'cmfh' or 'lsh'.")
    bits: int = Field(description="Code length in bits (16, 32, 64 or 128).")
    modalities: tuple[str, str] = Field(description="Names of the two modalities, in order.")
    dims: tuple[int, int] = Field(description="Input feature dimension of each modality.")
    params: dict[str, Any] = Field(description="Constructor parameters, seed included.")
    trained_on: dict[str, int] = Field(description="Sample counts: paired, and unpaired per modality.")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def _as_matrix(x: Any, name: str, dim: int | None = None) -> np.ndarray:
    """``x`` as a finite float64 ``(n, d)`` matrix; raises ``InvalidInput`` quoting what is wrong."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise InvalidInput(f"{name} must be a 2-D (n, d) array, got shape {x.shape}")
    if dim is not None and x.shape[1] != dim:
        raise InvalidInput(f"{name} has {x.shape[1]} features, the hasher expects {dim}")
    if not np.isfinite(x).all():
        raise InvalidInput(f"{name} holds {int((~np.isfinite(x)).sum())} NaN or infinite values")
    return x


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``(len(a), len(b))``, clipped at 0."""
    return np.maximum((a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None, :], 0.0)


class Hasher(abc.ABC):
    """Two-modality hasher with linear hash functions over (kernelized) centred features."""

    kind: ClassVar[str]

    def __init__(self, bits: int = 64, *, modalities: tuple[str, str] = ("a", "b"), kernel: int = 0, seed: int = 0) -> None:
        if bits not in BITS:
            raise ValueError(f"bits must be one of {BITS}, got {bits!r}")
        if kernel < 0:
            raise ValueError(f"kernel (RBF anchors, 0 = linear) must be >= 0, got {kernel!r}")
        if len(modalities) != 2 or modalities[0] == modalities[1]:
            raise ValueError(f"modalities must be two distinct names, got {modalities!r}")
        self.bits, self.modalities, self.kernel, self.seed = bits, tuple(modalities), kernel, seed
        self.state: dict[str, np.ndarray] = {}
        self.manifest: HasherManifest | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _KINDS[cls.kind] = cls

    def params(self) -> dict[str, Any]:
        """Constructor keyword arguments (JSON-able) that reproduce this hasher."""
        return {"bits": self.bits, "modalities": list(self.modalities), "kernel": self.kernel, "seed": self.seed}

    def fit(self, paired: tuple[Any, Any], unpaired: tuple[Any, Any] | None = None) -> Hasher:
        """Learn from ``paired = (X_a, X_b)`` (row i of each is one pair) and optional unpaired rows."""
        xa, xb = _as_matrix(paired[0], f"paired {self.modalities[0]}"), _as_matrix(paired[1], f"paired {self.modalities[1]}")
        if len(xa) != len(xb):
            raise InvalidInput(f"paired sets differ in length: {len(xa)} vs {len(xb)}")
        if len(xa) < 2:
            raise InvalidInput(f"need at least 2 paired samples, got {len(xa)}")
        ua, ub = unpaired if unpaired is not None else (np.empty((0, xa.shape[1])), np.empty((0, xb.shape[1])))
        ua = _as_matrix(ua, f"unpaired {self.modalities[0]}", xa.shape[1])
        ub = _as_matrix(ub, f"unpaired {self.modalities[1]}", xb.shape[1])
        rng = np.random.default_rng(self.seed)
        self.state = {}
        feats = [self._fit_map(m, np.vstack([p, u]), rng) for m, p, u in zip(self.modalities, (xa, xb), (ua, ub))]
        split = [(f[: len(xa)], f[len(xa):]) for f in feats]
        projections = self._fit((split[0][0], split[1][0]), (split[0][1], split[1][1]), rng)
        for m, w in zip(self.modalities, projections):
            self.state[f"{m}.W"] = w
        self.manifest = HasherManifest(
            kind=self.kind, bits=self.bits, modalities=self.modalities, dims=(xa.shape[1], xb.shape[1]),
            params=self.params(), trained_on={"paired": len(xa), self.modalities[0]: len(ua), self.modalities[1]: len(ub)},
        )
        return self

    @abc.abstractmethod
    def _fit(self, paired: tuple[np.ndarray, np.ndarray], unpaired: tuple[np.ndarray, np.ndarray],
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Projections ``(W_a, W_b)`` ``(d'_m, bits)`` from mapped features (rows are samples)."""

    def _fit_map(self, m: str, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Fit modality ``m``'s map (mean, unit mean square row norm) on all its rows; mapped rows."""
        if self.kernel:
            anchors = x[rng.choice(len(x), min(self.kernel, len(x)), replace=False)]
            sigma = float(np.sqrt(_sq_dists(x, anchors).mean())) or 1.0
            self.state[f"{m}.anchors"], self.state[f"{m}.sigma"] = anchors, np.array(sigma)
        raw = self._raw_map(m, x)
        centred = raw - raw.mean(0)
        self.state[f"{m}.mean"] = raw.mean(0)
        self.state[f"{m}.scale"] = np.array(float(np.sqrt((centred**2).sum(1).mean())) or 1.0)
        return centred / self.state[f"{m}.scale"]

    def _raw_map(self, m: str, x: np.ndarray) -> np.ndarray:
        if not self.kernel:
            return x
        return np.exp(-_sq_dists(x, self.state[f"{m}.anchors"]) / (2 * self.state[f"{m}.sigma"] ** 2))

    def transform(self, x: Any, modality: str) -> np.ndarray:
        """Mapped, centred, scaled features ``(n, d'_m)`` of raw rows ``x`` ``(n, d_m)`` of ``modality``."""
        m = self._modality(modality)
        x = _as_matrix(x, f"{m} features", self.manifest.dims[self.modalities.index(m)] if self.manifest else None)
        return (self._raw_map(m, x) - self.state[f"{m}.mean"]) / self.state[f"{m}.scale"]

    def encode(self, x: Any, modality: str) -> np.ndarray:
        """Binary codes ``(n, bits // 8)`` uint8 (FAISS layout) of raw rows ``x`` of ``modality``."""
        if self.manifest is None:
            raise InvalidInput(f"{type(self).__name__} is not fitted; call fit() or load_hasher() first")
        return pack_codes(self.transform(x, modality) @ self.state[f"{self._modality(modality)}.W"])

    def _modality(self, modality: str) -> str:
        if modality not in self.modalities:
            raise InvalidInput(f"unknown modality {modality!r}; this hasher has {list(self.modalities)}")
        return modality

    def save(self, directory: Path | str) -> None:
        """Write ``hasher.json`` and ``params.npz`` into ``directory`` (created if needed)."""
        if self.manifest is None:
            raise InvalidInput("cannot save an unfitted hasher")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / "params.npz", "wb") as f:
            np.savez(f, **self.state)
        (directory / "hasher.json").write_text(self.manifest.model_dump_json(indent=2) + "\n")


def load_hasher(directory: Path | str) -> Hasher:
    """A fitted hasher read back from a directory written by :meth:`Hasher.save`."""
    directory = Path(directory)
    try:
        data = json.loads((directory / "hasher.json").read_text())
    except FileNotFoundError:
        raise InvalidInput(f"no hasher.json in {directory}") from None
    if data.get("format_version") != FORMAT_VERSION:
        raise InvalidInput(f"hasher format {data.get('format_version')!r} is not supported (expected {FORMAT_VERSION})")
    manifest = HasherManifest.model_validate(data)
    if manifest.kind not in _KINDS:
        raise InvalidInput(f"unknown hasher kind {manifest.kind!r}; known: {sorted(_KINDS)}")
    params = dict(manifest.params, modalities=tuple(manifest.params["modalities"]))
    hasher = _KINDS[manifest.kind](**params)
    with np.load(directory / "params.npz") as z:
        hasher.state = {k: z[k] for k in z.files}
    hasher.manifest = manifest
    return hasher
