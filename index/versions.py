"""Versioned index directories with one atomically flipped pointer.

Layout of an index root::

    NAME/
      CURRENT              the serving version's name (replaced atomically with os.replace)
      versions/v000001/    one complete, immutable version (manifest.json + files)
      versions/.tmp-*/     a version being written; never read

A build writes into a temporary directory, fsyncs it, renames it to the next version name and
only then flips ``CURRENT``: a reader sees the old version or the new one, never a half-built one,
and a crash at any point leaves the serving version untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from matlas.errors import IndexNotFound, InvalidInput

__all__ = ["INDEX_NAME", "IndexRoot", "resolve_index"]

_VERSION = re.compile(r"^v(\d{6})$")
INDEX_NAME = r"[A-Za-z0-9_-]{1,64}"  # what a name under the index root may be
_NAME = re.compile(INDEX_NAME)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexRoot:
    """The directory of one named index and its versions."""

    backend = "faiss"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.name = self.path.resolve().name

    @property
    def location(self) -> str:
        """Where it lives, for people: the directory."""
        return str(self.path)

    @property
    def versions_dir(self) -> Path:
        return self.path / "versions"

    def exists(self) -> bool:
        """Whether a version has been published here."""
        return (self.path / "CURRENT").is_file()

    def current(self) -> str:
        """Name of the serving version; raises ``IndexNotFound`` if none."""
        try:
            name = (self.path / "CURRENT").read_text().strip()
        except FileNotFoundError:
            raise IndexNotFound(f"no index at {self.path}: nothing has been built there yet") from None
        if not (self.versions_dir / name / "manifest.json").is_file():
            raise IndexNotFound(f"{self.path}: CURRENT names a missing version {name!r}")
        return name

    def current_path(self) -> Path:
        """Directory of the serving version."""
        return self.versions_dir / self.current()

    def versions(self) -> list[str]:
        """Complete versions, oldest first."""
        if not self.versions_dir.is_dir():
            return []
        names = [p.name for p in self.versions_dir.iterdir() if _VERSION.match(p.name)]
        return sorted(n for n in names if (self.versions_dir / n / "manifest.json").is_file())

    @contextlib.contextmanager
    def new_version(self) -> Iterator[tuple[Path, str]]:
        """Yield ``(tmp_dir, version_name)`` to write a version into, then publish it atomically.

        Writers of one root are serialised by an ``flock``; if the body raises, the temporary
        directory is removed and nothing changes (a killed writer's is removed by the next one).
        """
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one writer per index root at a time
            for stale in self.versions_dir.glob(".tmp-*"):  # left by a writer killed mid-build
                shutil.rmtree(stale, ignore_errors=True)
            tmp = self.versions_dir / f".tmp-{uuid.uuid4().hex}"
            tmp.mkdir()
            try:
                name = self._next_name()
                yield tmp, name
                for child in tmp.iterdir():
                    if child.is_file():
                        with open(child, "rb") as f:
                            os.fsync(f.fileno())
                _fsync_dir(tmp)
                os.rename(tmp, self.versions_dir / name)
                _fsync_dir(self.versions_dir)
                self.publish(name)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

    def publish(self, name: str) -> None:
        """Point ``CURRENT`` at version ``name`` atomically (also how a rollback works)."""
        if not (self.versions_dir / name / "manifest.json").is_file():
            raise InvalidInput(f"{self.path}: no version {name!r}; versions: {self.versions()}")
        tmp = self.path / f".CURRENT.{uuid.uuid4().hex}"
        tmp.write_text(name + "\n")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.path / "CURRENT")
        _fsync_dir(self.path)

    def _next_name(self) -> str:
        existing = [int(m.group(1)) for p in self.versions_dir.iterdir() if (m := _VERSION.match(p.name))]
        return f"v{max(existing, default=0) + 1:06d}"


def resolve_index(
    index: str | Path, indexes_dir: Path, *, allow_paths: bool = True, must_exist: bool = True
) -> IndexRoot:
    """An index given as a name under ``indexes_dir``, or (``allow_paths``) as a directory path."""
    text = str(index)
    if allow_paths and ("/" in text or Path(text).is_dir()):
        root = IndexRoot(text)
    elif _NAME.fullmatch(text):
        root = IndexRoot(indexes_dir / text)
    else:
        raise InvalidInput(f"invalid index name {text[:80]!r}: use 1 to 64 letters, digits, '-' and '_'")
    if must_exist and not root.exists():
        where = f" at {root.path}" if allow_paths else ""
        raise IndexNotFound(f"unknown index {text[:80]!r}: no index of that name has been built{where}")
    return root
