"""One load run: a ``matlas serve`` with N workers, search at each concurrency on each index, then
chat turns; peak RSS of the server's process tree sampled throughout."""

from __future__ import annotations

import threading

from bench.load.clients import auth_headers, run_clients
from bench.load.server import Server
from bench.load.workload import ChatLedger, search_request

__all__ = ["load_run"]


class _PeakRss:
    """Samples a server's RSS in a thread until stopped; keeps the peak."""

    def __init__(self, server: Server, every_s: float = 0.5) -> None:
        self.server, self.every_s, self.peak = server, every_s, server.rss_bytes()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.wait(self.every_s):
            self.peak = max(self.peak, self.server.rss_bytes())

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join(timeout=10)


def load_run(server: Server, *, indexes: list[str | None], levels: list[int], seconds: float,
             max_requests: int, warmup: int, chat_clients: int, chat_seconds: float,
             api_key: str | None = None, log=lambda *parts: None) -> dict:
    """Search rows (one per index and concurrency) and a chat row, against a started ``server``."""
    headers = auth_headers(api_key)
    base = server.base

    rows = []
    with _PeakRss(server) as rss:
        for index in indexes:
            send = search_request(index)
            run_clients(send, base, min(4, max(levels)), seconds=60, max_requests=warmup, headers=headers)  # warm-up, dropped
            for clients in levels:
                tally = run_clients(send, base, clients, seconds=seconds, max_requests=max_requests, headers=headers)
                rows.append({"index": index or "default", **tally.summary()})
                log(f"  {rows[-1]['index']} x{clients}: {rows[-1]['qps']} qps, p50 {rows[-1]['p50_ms']} ms, "
                    f"p99 {rows[-1]['p99_ms']} ms, {rows[-1]['errors']} errors")
        chat = None
        if chat_clients:
            run_clients(ChatLedger().request(), base, 1, seconds=120, max_requests=1, headers=headers)  # warm-up
            ledger = ChatLedger()
            tally = run_clients(ledger.request(), base, chat_clients, seconds=chat_seconds, headers=headers)
            summary = tally.summary()
            chat = {"clients": chat_clients, "turns": summary["requests"], "errors": summary["errors"],
                    "5xx": summary["5xx"], "turns_per_min": round(len(tally.ok) / tally.wall_s * 60, 1),
                    "p50_ms": summary["p50_ms"], "p99_ms": summary["p99_ms"],
                    "first_errors": summary["first_errors"], **ledger.check(base, headers)}
    return {"workers": server.workers, "search": rows, "chat": chat, "peak_rss_mb": round(rss.peak / 2**20)}
