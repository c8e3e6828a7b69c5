"""``open_rester(settings)``: the real mp-api client, on live MP or on the local snapshot server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mp_api.client import MPRester
from mp_api.client.core import MPRestError
from requests import RequestException

from agents.mp.server import SnapshotServer
from agents.mp.snapshot import Snapshot
from matlas.errors import UpstreamError
from matlas.settings import Settings

__all__ = ["LIVE_ENDPOINT", "OFFLINE_API_KEY", "api_key", "embedded_endpoint", "open_rester"]

LIVE_ENDPOINT = "https://api.materialsproject.org/"
OFFLINE_API_KEY = "matlas-offline-snapshot-key-0000"
"""Placeholder key for the snapshot server: mp-api refuses keys that are not 32 characters long,
even for a local endpoint; the snapshot server ignores it."""

_servers: dict[Path, SnapshotServer] = {}
_servers_lock = threading.Lock()


def embedded_endpoint(db_path: Path) -> str:
    """URL of this process's server for ``db_path``, started on first use (sample if no file)."""
    path = Path(db_path).resolve()
    with _servers_lock:
        if path not in _servers:
            Snapshot.ensure(path)
            server = SnapshotServer(path)
            server.start()
            _servers[path] = server
        return _servers[path].url


def api_key(settings: Settings) -> str | None:
    """The MP API key of ``settings``; an empty one (``MP_API_KEY=``) counts as none."""
    secret = settings.mp_api_key
    return (secret.get_secret_value() or None) if secret is not None else None


@contextmanager
def open_rester(settings: Settings, *, use_document_model: bool = True) -> Iterator[MPRester]:
    """An ``MPRester`` on live MP when ``settings.mp_api_key`` is set, else on the snapshot server.

    ``settings.mp_endpoint`` overrides either endpoint. ``MPRestError`` and connection failures
    leave as ``UpstreamError``; the key never appears in their messages.
    """
    if key := api_key(settings):
        endpoint = settings.mp_endpoint or LIVE_ENDPOINT
    else:
        key = OFFLINE_API_KEY
        endpoint = settings.mp_endpoint or embedded_endpoint(settings.mp_db_path)
    try:
        with MPRester(
            api_key=key,
            endpoint=endpoint,
            use_document_model=use_document_model,
            mute_progress_bars=True,
        ) as rester:
            yield rester
    except (MPRestError, RequestException) as err:
        message = str(err).replace(key, "**********")
        raise UpstreamError(f"Materials Project request to {endpoint} failed: {message}") from None
