"""Per-session artifact store: structures and arrays kept out of the model's context, by handle.

A handle names its content (``artifact://structure/3f2a9c0d1b7e``: the first 12 hex digits of the
SHA-256 of the canonical JSON), so storing the same structure twice gives the same handle. Artifacts
live in memory and, when the store has a directory, as one JSON file each, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pymatgen.core import Structure

from matlas.errors import InvalidInput

__all__ = ["ArtifactKind", "ArtifactStore"]

ArtifactKind = Literal["structure", "array"]
_HANDLE = re.compile(r"^artifact://(structure|array)/([0-9a-f]{12})$")


class ArtifactStore:
    """Structures (pymatgen ``as_dict``) and arrays of one chat session; ``root=None`` keeps them in memory."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else None
        self._items: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def put_structure(self, structure: Structure, meta: dict[str, Any] | None = None) -> str:
        """Store ``structure`` with JSON-able ``meta`` (e.g. its ``material_id``); returns its handle."""
        return self._put("structure", structure.as_dict(), meta)

    def get_structure(self, handle: str) -> Structure:
        """The structure stored under ``handle``."""
        return Structure.from_dict(self._get(handle, "structure")["data"])

    def put_array(self, array: Any, meta: dict[str, Any] | None = None) -> str:
        """Store a numeric array (a tensor, a DOS...) with JSON-able ``meta``; returns its handle."""
        values = np.asarray(array)
        if values.dtype.kind not in "biuf":
            raise InvalidInput(f"artifacts hold numeric arrays, not dtype {values.dtype}")
        data = {"dtype": values.dtype.str, "shape": list(values.shape), "values": values.tolist()}
        return self._put("array", data, meta)

    def get_array(self, handle: str) -> np.ndarray:
        """The array stored under ``handle``, with its dtype and shape."""
        data = self._get(handle, "array")["data"]
        return np.asarray(data["values"], dtype=data["dtype"]).reshape(data["shape"])

    def meta(self, handle: str) -> dict[str, Any]:
        """The metadata stored with ``handle`` (a copy)."""
        return dict(self._get(handle)["meta"])

    def handles(self) -> list[str]:
        """Every handle of the session, in memory or on disk, sorted."""
        found = set(self._items)
        if self.root is not None and self.root.is_dir():
            found |= {f"artifact://{p.stem.replace('-', '/', 1)}" for p in self.root.glob("*-*.json")}
        return sorted(h for h in found if _HANDLE.match(h))

    def _put(self, kind: ArtifactKind, data: dict[str, Any], meta: dict[str, Any] | None) -> str:
        digest = hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        handle = f"artifact://{kind}/{digest[:12]}"
        item = {"handle": handle, "kind": kind, "meta": dict(meta or {}), "data": data}
        with self._lock:
            if handle in self._items:
                return handle
            if (path := self._file(handle)) is not None:
                _write_json_atomic(path, item)
            self._items[handle] = item
        return handle

    def _get(self, handle: str, kind: ArtifactKind | None = None) -> dict[str, Any]:
        match = _HANDLE.match(handle) if isinstance(handle, str) else None
        if match is None or (kind is not None and match.group(1) != kind):
            shape = f"artifact://{kind or '<structure|array>'}/<12 hex digits>"
            raise InvalidInput(f"invalid artifact handle {handle!r}: expected {shape}")
        with self._lock:
            item = self._items.get(handle)
            path = self._file(handle)
            if item is None and path is not None and path.is_file():
                item = self._items[handle] = json.loads(path.read_text(encoding="utf-8"))
        if item is None:
            raise InvalidInput(f"unknown artifact {handle!r}; this session holds {self.handles()}")
        return item

    def _file(self, handle: str) -> Path | None:
        """Where a valid ``handle`` is persisted (None for an in-memory store)."""
        if self.root is None:
            return None
        return self.root / (handle.removeprefix("artifact://").replace("/", "-") + ".json")


def _write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
