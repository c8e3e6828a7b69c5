"""One Qdrant deployment as matlas sees it: a client, the storage choices, names, and its failures
translated once into ``Unavailable`` (HTTP 503 with the reason)."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import httpx
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from index.qdrant.params import QdrantParams
from index.versions import INDEX_NAME
from matlas.errors import IndexNotFound, Unavailable

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

    from index.qdrant.versions import QdrantRoot

__all__ = ["TRANSIENT", "QdrantStore"]

# Failures worth a retry or a 503: the server cannot be reached, timed out, or answered 5xx/429.
TRANSIENT = (ResponseHandlingException, httpx.TransportError, ConnectionError, TimeoutError)


def _transient(err: BaseException) -> bool:
    if isinstance(err, UnexpectedResponse):
        return err.status_code is not None and (err.status_code >= 500 or err.status_code == 429)
    return isinstance(err, TRANSIENT)


class QdrantStore:
    """A Qdrant server or cluster (``QdrantClient(url=...)``) or local-mode store (``path=`` / ``":memory:"``).

    ``client`` may be a factory, called once on first use (so a store that is never used never
    connects). ``where`` names the deployment in errors (a URL or "local mode", never a key).
    """

    def __init__(self, client: QdrantClient | Callable[[], QdrantClient], params: QdrantParams | None = None, *,
                 where: str = "Qdrant") -> None:
        self._client = client if not callable(client) or hasattr(client, "query_points") else None
        self._factory = None if self._client is not None else client
        self._lock = threading.Lock()
        self.params = params or QdrantParams()
        self.where = where

    @property
    def client(self) -> QdrantClient:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    with self.reachable():
                        self._client = self._factory()
        return self._client

    @contextlib.contextmanager
    def reachable(self) -> Iterator[None]:
        """Turn connection failures, timeouts and 5xx answers of Qdrant into ``Unavailable``, and a
        collection that is gone (404, e.g. a version dropped while a request used it) into ``IndexNotFound``."""
        try:
            yield
        except Exception as err:
            if isinstance(err, UnexpectedResponse) and err.status_code == 404:
                raise IndexNotFound(f"Qdrant ({self.where}): {err.reason_phrase or 'not found'}") from None
            if not _transient(err):
                raise
            reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
            raise Unavailable(f"Qdrant ({self.where}) is not reachable: {reason}") from None

    def alias(self, name: str) -> str:
        """The alias an index is served under."""
        return f"{self.params.prefix}__{name}"

    def collection(self, name: str, version: str) -> str:
        """The collection of one version."""
        return f"{self.params.prefix}__{name}__{version}"

    def names(self) -> list[str]:
        """Names of the indexes served here (aliases under this prefix), sorted."""
        pattern = re.compile(rf"^{re.escape(self.params.prefix)}__({INDEX_NAME})$")
        with self.reachable():
            aliases = self.client.get_aliases().aliases
        return sorted(m.group(1) for a in aliases if (m := pattern.match(a.alias_name)))

    def root(self, name: str) -> QdrantRoot:
        """The versions of index ``name`` on this deployment (which may not exist yet)."""
        from index.qdrant.versions import QdrantRoot

        return QdrantRoot(self, name)

    def close(self) -> None:
        """Close the client (local mode releases its storage folder)."""
        if self._client is not None:
            self._client.close()
            self._client = None if self._factory is not None else self._client
