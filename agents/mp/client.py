"""The real mp-api client, on live MP or on the local snapshot server, from a small typed config.

The shell builds one ``MPClient(MPConfig(...))`` from its settings and hands it to whoever asks MP
(tools, sync, eval); nothing here reads the environment or the shell's settings.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import requests
from pydantic import BaseModel, Field, SecretStr
from requests import RequestException

from agents.mp.server import SnapshotServer
from agents.mp.snapshot import Snapshot
from matlas.errors import UpstreamError

if TYPE_CHECKING:
    from mp_api.client import MPRester

__all__ = ["DEFAULT_THERMO_TYPES", "LIVE_ENDPOINT", "OFFLINE_API_KEY", "MPClient", "MPConfig", "client_of",
           "embedded_endpoint", "open_rester"]

DEFAULT_THERMO_TYPES = ("GGA_GGA+U_R2SCAN", "GGA_GGA+U")
"""Thermo types in order of preference: MP's mixed GGA/GGA+U/r2SCAN hull, else the GGA/GGA+U one
(older snapshots hold only that). Each material's thermo data comes from the first type it has."""

LIVE_ENDPOINT = "https://api.materialsproject.org/"
OFFLINE_API_KEY = "matlas-offline-snapshot-key-0000"
"""Placeholder key for the snapshot server: mp-api refuses keys that are not 32 characters long,
even for a local endpoint; the snapshot server ignores it."""

_servers: dict[Path, SnapshotServer] = {}
_servers_lock = threading.Lock()


class MPConfig(BaseModel):
    """Where MP queries go: live MP with ``api_key``, else the snapshot ``db_path`` served in-process;
    ``endpoint`` overrides either (another MP server, e.g. ``matlas mp serve``)."""

    api_key: SecretStr | None = Field(None, description="MP API key; empty counts as none.")
    endpoint: str | None = Field(None, description="MP REST endpoint URL overriding the default.")
    db_path: Path = Field(description="Snapshot file served when there is no key.")

    @property
    def key(self) -> str | None:
        """The API key, or None when unset or empty."""
        return (self.api_key.get_secret_value() or None) if self.api_key is not None else None

    @property
    def live(self) -> bool:
        """Whether queries go to live MP (a key and no endpoint override)."""
        return self.key is not None and self.endpoint is None


class _SettingsLike(Protocol):
    mp_api_key: SecretStr | None
    mp_endpoint: str | None

    @property
    def mp_db_path(self) -> Path: ...


def embedded_endpoint(db_path: Path, *, progress: bool = False) -> str:
    """URL of this process's server for ``db_path``, started on first use (the default snapshot,
    real MP data, is imported when the file does not exist)."""
    path = Path(db_path).resolve()
    with _servers_lock:
        if path not in _servers:
            Snapshot.ensure(path, progress=progress)
            server = SnapshotServer(path)
            server.start()
            _servers[path] = server
        return _servers[path].url


def _mp_api() -> tuple[type[MPRester], type[Exception]]:
    """mp-api's client and its error, imported on first use (4 s: every server and CLI start paid it)."""
    from mp_api.client import MPRester
    from mp_api.client.core import MPRestError

    return MPRester, MPRestError


class MPClient:
    """One MP client per process, shared by the tools of all sessions: ``search`` runs on one lazily
    opened ``MPRester`` (one HTTP session); ``rester()`` opens a session of its own (document models)."""

    def __init__(self, config: MPConfig, *, thermo_types: Sequence[str] = DEFAULT_THERMO_TYPES) -> None:
        if not thermo_types:
            raise ValueError("thermo_types must name at least one MP thermo type, e.g. GGA_GGA+U_R2SCAN")
        self.config = config
        self.thermo_types = tuple(thermo_types)
        self._provenance: dict[str, Any] | None = None
        self._shared: Any = None
        self._lock = threading.Lock()

    def search(self, endpoint: str, *, limit: int, **criteria: Any) -> list[dict[str, Any]]:
        """One ``materials.<endpoint>.search``: a single chunk of at most ``limit`` raw documents."""
        criteria = {k: v for k, v in criteria.items() if v is not None}
        key = self.config.key or OFFLINE_API_KEY
        rester_class, rest_error = _mp_api()
        try:
            with self._lock:
                if self._shared is None:
                    self._shared = rester_class(api_key=key, endpoint=self.endpoint, use_document_model=False,
                                            mute_progress_bars=True)
                rester = self._shared
            return getattr(rester.materials, endpoint).search(**criteria, num_chunks=1, chunk_size=limit)
        except (rest_error, RequestException) as err:
            message = str(err).replace(key, "**********")
            raise UpstreamError(f"Materials Project request to {self.endpoint} failed: {message}") from None

    def warm_up(self) -> None:
        """Import mp-api now and, when the answers come from this process's snapshot server over an existing
        snapshot file, start it and run one query through it, so that the first question waits for neither
        (a live or configured endpoint is not contacted; a snapshot not imported yet is left to first use)."""
        _mp_api()
        if not self.config.endpoint and not self.config.key and Path(self.config.db_path).is_file():
            self.search("summary", limit=1, fields=["material_id"])

    def close(self) -> None:
        """Close the shared HTTP session (a later search opens a new one)."""
        with self._lock:
            if self._shared is not None:
                self._shared.session.close()
                self._shared = None

    def __repr__(self) -> str:
        return f"MPClient(endpoint={self.config.endpoint or '(default)'!r}, thermo_types={self.thermo_types!r})"

    @property
    def endpoint(self) -> str:
        """The endpoint queries go to (starting the in-process snapshot server if needed)."""
        if self.config.endpoint:
            return self.config.endpoint
        return LIVE_ENDPOINT if self.config.key else embedded_endpoint(self.config.db_path)

    @contextmanager
    def rester(self, *, use_document_model: bool = True) -> Iterator[MPRester]:
        """An ``MPRester`` session; ``MPRestError`` and connection failures leave as
        ``UpstreamError``, the key never in their messages."""
        key = self.config.key or OFFLINE_API_KEY
        endpoint = self.endpoint
        rester_class, rest_error = _mp_api()
        try:
            with rester_class(
                api_key=key,
                endpoint=endpoint,
                use_document_model=use_document_model,
                mute_progress_bars=True,
            ) as rester:
                yield rester
        except (rest_error, RequestException) as err:
            message = str(err).replace(key, "**********")
            raise UpstreamError(f"Materials Project request to {endpoint} failed: {message}") from None

    def provenance(self) -> dict[str, Any]:
        """Where answers come from: ``{"source": ..., "sample": bool, ...}``; a matlas snapshot
        server says so in its heartbeat, any other endpoint is taken as Materials Project."""
        if self._provenance is None:
            info: dict[str, Any] = {}
            if not self.config.live:
                try:
                    info = requests.get(self.endpoint + "heartbeat", timeout=10).json()
                except (RequestException, ValueError):
                    info = {}
            snapshot = info.get("matlas_snapshot")
            self._provenance = (
                {"source": "matlas MP snapshot", "endpoint": self.endpoint, **snapshot}
                if snapshot
                else {"source": "Materials Project", "endpoint": self.endpoint, "sample": False}
            )
        return self._provenance


def client_of(source: MPClient | MPConfig | _SettingsLike) -> MPClient:
    """An ``MPClient`` from a client, a config, or any object with ``mp_api_key``,
    ``mp_endpoint`` and ``mp_db_path`` (the shell's settings, until every caller passes a client)."""
    if isinstance(source, MPClient):
        return source
    if isinstance(source, MPConfig):
        return MPClient(source)
    return MPClient(
        MPConfig(api_key=source.mp_api_key, endpoint=source.mp_endpoint, db_path=source.mp_db_path)
    )


@contextmanager
def open_rester(
    source: MPClient | MPConfig | _SettingsLike, *, use_document_model: bool = True
) -> Iterator[MPRester]:
    """``client_of(source).rester(...)``: live MP with a key, else the snapshot server."""
    with client_of(source).rester(use_document_model=use_document_model) as rester:
        yield rester
