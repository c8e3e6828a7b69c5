"""``MPClient``: the one Materials Project client the expert tools share, built once and injected.

It holds a single ``mp_api`` ``MPRester`` (one HTTP session) on the endpoint it was built for: live
MP with a key, or the loopback MP-protocol server over a snapshot. Every search is one bounded
chunk of raw documents; MP failures leave as ``UpstreamError`` with the key redacted.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from matlas.errors import UpstreamError

__all__ = ["DEFAULT_THERMO_TYPES", "MPClient"]

DEFAULT_THERMO_TYPES = ("GGA_GGA+U_R2SCAN", "GGA_GGA+U")
"""Thermo types in order of preference: MP's mixed GGA/GGA+U/r2SCAN hull, else the GGA/GGA+U one
(older snapshots hold only that). Each material's thermo data comes from the first type it has."""


class MPClient:
    """A lazily opened ``MPRester`` on ``endpoint``; safe to share between the tools of all sessions."""

    def __init__(self, endpoint: str, api_key: str, *, thermo_types: Sequence[str] = DEFAULT_THERMO_TYPES) -> None:
        if not thermo_types:
            raise ValueError("thermo_types must name at least one MP thermo type, e.g. GGA_GGA+U_R2SCAN")
        self.endpoint = endpoint
        self.thermo_types = tuple(thermo_types)
        self._key = api_key
        self._rester: Any = None
        self._lock = threading.Lock()

    def _client(self) -> Any:
        with self._lock:
            if self._rester is None:
                from mp_api.client import MPRester

                self._rester = MPRester(api_key=self._key, endpoint=self.endpoint, use_document_model=False,
                                        mute_progress_bars=True)
            return self._rester

    def search(self, endpoint: str, *, limit: int, **criteria: Any) -> list[dict[str, Any]]:
        """One ``materials.<endpoint>.search``: a single chunk of at most ``limit`` raw documents."""
        from mp_api.client.core import MPRestError
        from requests import RequestException

        criteria = {k: v for k, v in criteria.items() if v is not None}
        try:
            rester = self._client()
            return getattr(rester.materials, endpoint).search(**criteria, num_chunks=1, chunk_size=limit)
        except (MPRestError, RequestException) as err:
            message = str(err).replace(self._key, "**********") if self._key else str(err)
            raise UpstreamError(f"Materials Project request to {self.endpoint} failed: {message}") from None

    def close(self) -> None:
        """Close the HTTP session (a later search opens a new one)."""
        with self._lock:
            if self._rester is not None:
                self._rester.session.close()
                self._rester = None

    def __repr__(self) -> str:
        return f"MPClient(endpoint={self.endpoint!r}, thermo_types={self.thermo_types!r})"
