"""Concurrent HTTP clients (asyncio + httpx): a request function run by N clients for a bounded time
or count, with latencies, status codes and transport errors recorded."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import numpy as np

__all__ = ["Outcome", "Tally", "auth_headers", "run_clients"]

Request = Callable[[httpx.AsyncClient, int, int], Awaitable[httpx.Response]]  # (client, request number, client number)


@dataclass
class Outcome:
    """One request: when it ended (monotonic s), how long it took (s), its status (0: no response)."""

    end: float
    seconds: float
    status: int
    error: str | None = None


@dataclass
class Tally:
    """What N clients saw over one run."""

    clients: int
    wall_s: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> list[Outcome]:
        return [o for o in self.outcomes if 200 <= o.status < 300]

    @property
    def errors(self) -> int:
        """Requests without a 2xx answer (transport errors and any 4xx/5xx)."""
        return len(self.outcomes) - len(self.ok)

    @property
    def server_errors(self) -> int:
        return sum(o.status >= 500 for o in self.outcomes)

    def summary(self) -> dict:
        """requests, errors, 5xx, QPS (2xx per second of wall time), p50/p99 latency of 2xx in ms."""
        ms = np.array([o.seconds for o in self.ok]) * 1000
        return {"clients": self.clients, "requests": len(self.outcomes), "errors": self.errors,
                "5xx": self.server_errors, "qps": round(len(ms) / self.wall_s, 2) if self.wall_s else 0.0,
                "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
                "p99_ms": round(float(np.percentile(ms, 99)), 1) if len(ms) else None,
                "statuses": dict(sorted(Counter(str(o.status) for o in self.outcomes).items())),
                "first_errors": [o.error for o in self.outcomes if o.error][:3]}


def auth_headers(api_key: str | None) -> dict[str, str]:
    """``Authorization: Bearer KEY`` when a key is given."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


async def timed(request: Request, client: httpx.AsyncClient, i: int, lane: int, tally: Tally) -> None:
    """Send request ``i`` of ``lane`` and append its outcome (latency, status, error) to ``tally``."""
    t0 = time.perf_counter()
    try:
        r = await request(client, i, lane)
        status, error = r.status_code, None if r.status_code < 400 else f"{r.status_code}: {r.text[:200]}"
    except httpx.HTTPError as err:
        status, error = 0, f"{type(err).__name__}: {err}"
    tally.outcomes.append(Outcome(time.monotonic(), time.perf_counter() - t0, status, error))


async def _run(request: Request, base_url: str, clients: int, seconds: float, max_requests: int | None,
               headers: dict[str, str], timeout_s: float) -> Tally:
    tally = Tally(clients)
    counter = itertools.count()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout_s, limits=limits) as client:
        start = time.monotonic()
        stop_at = start + seconds

        async def one_client(lane: int) -> None:
            while time.monotonic() < stop_at:
                i = next(counter)
                if max_requests is not None and i >= max_requests:
                    return
                await timed(request, client, i, lane, tally)

        await asyncio.gather(*(one_client(lane) for lane in range(clients)))
        tally.wall_s = time.monotonic() - start
    return tally


def run_clients(request: Request, base_url: str, clients: int, *, seconds: float, max_requests: int | None = None,
                headers: dict[str, str] | None = None, timeout_s: float = 120.0) -> Tally:
    """Run ``clients`` concurrent loops of ``request(client, i, lane)`` until ``seconds`` pass or ``max_requests``
    were sent (a request started in time is waited for)."""
    return asyncio.run(_run(request, base_url, clients, seconds, max_requests, headers or {}, timeout_s))
