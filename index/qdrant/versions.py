"""Index versions on Qdrant, as on disk: each version one collection, the index name an alias that
``publish`` switches atomically (one ``update_collection_aliases`` request: delete + create).

A version is complete once its collection's metadata holds the manifest; until then it carries
a pending build key. A build killed mid-upload leaves a pending collection and the alias where it
was; a rerun of the same build (same key) resumes it, any other build drops it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator

from qdrant_client import models

from index.qdrant.manifest import MANIFEST_KEY, PENDING_KEY, QdrantManifest
from index.qdrant.store import QdrantStore
from matlas.errors import IndexNotFound, InvalidInput

__all__ = ["QdrantRoot"]


class QdrantRoot:
    """The versions of one named index on a Qdrant deployment (the counterpart of ``IndexRoot``)."""

    backend = "qdrant"

    def __init__(self, store: QdrantStore, name: str) -> None:
        self.store, self.name = store, name
        self.alias = store.alias(name)
        self._pattern = re.compile(rf"^{re.escape(store.collection(name, ''))}(v\d{{6}})$")

    @property
    def location(self) -> str:
        """Where it lives, for people: ``qdrant:ALIAS``."""
        return f"qdrant:{self.alias}"

    def _collections(self) -> dict[str, dict]:
        """Every version collection of this index (complete or pending) -> its metadata."""
        client = self.store.client
        with self.store.reachable():
            found = {m.group(1): c.name for c in client.get_collections().collections
                     if (m := self._pattern.match(c.name))}
            return {v: client.get_collection(c).config.metadata or {} for v, c in sorted(found.items())}

    def exists(self) -> bool:
        """Whether a version is being served under the alias."""
        return self._aliased() is not None

    def _aliased(self) -> str | None:
        with self.store.reachable():
            aliases = self.store.client.get_aliases().aliases
        return next((a.collection_name for a in aliases if a.alias_name == self.alias), None)

    def current(self) -> str:
        """Name of the serving version; ``IndexNotFound`` if none."""
        collection = self._aliased()
        if collection is None or not (m := self._pattern.match(collection)):
            raise IndexNotFound(f"no index {self.name!r} on Qdrant ({self.store.where}): nothing has been built there yet")
        return m.group(1)

    def versions(self) -> list[str]:
        """Complete versions, oldest first."""
        return [v for v, meta in self._collections().items() if MANIFEST_KEY in meta]

    def manifest(self, version: str | None = None) -> QdrantManifest:
        """The manifest of ``version`` (default: the serving one)."""
        collection = self.store.collection(self.name, version or self.current())
        with self.store.reachable():
            try:
                metadata = self.store.client.get_collection(collection).config.metadata
            except (ValueError, KeyError):  # local mode: unknown collection
                metadata = None
            except Exception as err:
                if getattr(err, "status_code", None) == 404:
                    metadata = None
                else:
                    raise
        return QdrantManifest.from_metadata(metadata, collection)

    def publish(self, version: str) -> None:
        """Serve ``version`` (also how a rollback works): the alias moves in one atomic request."""
        if version not in self.versions():
            raise InvalidInput(f"index {self.name!r} on Qdrant has no version {version!r}; versions: {self.versions()}")
        changes: list[models.AliasOperations] = []
        if self._aliased() is not None:
            changes.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.alias)))
        changes.append(models.CreateAliasOperation(create_alias=models.CreateAlias(
            collection_name=self.store.collection(self.name, version), alias_name=self.alias)))
        with self.store.reachable():
            self.store.client.update_collection_aliases(change_aliases_operations=changes)

    @contextlib.contextmanager
    def stage(self, key: str, create: Callable[[str], None]) -> Iterator[tuple[str, str, bool]]:
        """Yield ``(collection, version, resumed)`` of a pending version to upload into, without publishing.

        A pending collection with the same build ``key`` is resumed; other pending ones (killed
        builds) are dropped; else ``create(collection)`` makes the next version's collection, tagged
        with ``key``. The caller completes it with ``complete`` (and may then ``publish``). An error
        leaves the pending collection for a rerun to resume.
        """
        collections = self._collections()
        pending = {v: meta.get(PENDING_KEY) for v, meta in collections.items() if MANIFEST_KEY not in meta}
        resumed = next((v for v, k in pending.items() if k == key), None)
        for version in pending:
            if version != resumed:
                self.drop(version)
        version = resumed or f"v{max((int(v[1:]) for v in collections), default=0) + 1:06d}"
        collection = self.store.collection(self.name, version)
        if resumed is None:
            with self.store.reachable():
                create(collection)
                self.store.client.update_collection(collection, metadata={PENDING_KEY: key})
        yield collection, version, resumed is not None

    def complete(self, manifest: QdrantManifest) -> None:
        """Mark a staged version complete by writing its manifest into the collection's metadata."""
        with self.store.reachable():
            self.store.client.update_collection(
                manifest.collection, metadata={MANIFEST_KEY: manifest.model_dump(mode="json"), PENDING_KEY: None})

    def drop(self, version: str) -> None:
        """Delete one version's collection (never the serving one)."""
        if self._aliased() == self.store.collection(self.name, version):
            raise InvalidInput(f"version {version!r} of index {self.name!r} is serving; publish another one first")
        with self.store.reachable():
            self.store.client.delete_collection(self.store.collection(self.name, version))

    def prune(self, keep: int) -> list[str]:
        """Delete all but the newest ``keep`` complete versions (never the serving one) and the
        pending ones older than the serving version (builds that died); the versions deleted."""
        current = self.current()
        collections = self._collections()
        complete = [v for v, meta in collections.items() if MANIFEST_KEY in meta]
        dead = [v for v, meta in collections.items() if MANIFEST_KEY not in meta and v < current]
        removed = sorted([v for v in complete[:-keep] if v != current] + dead)
        for version in removed:
            self.drop(version)
        return removed
