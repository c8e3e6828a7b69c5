"""The soak: searches and chat turns for a fixed time against one server whose sessions live in a
real Redis, with two faults midway: Redis stopped and restarted, and a rebuild of a served index
published by ``matlas index build``. RSS of the server's process tree is sampled throughout."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from bench.load.clients import Tally, auth_headers, timed
from bench.load.corpus import phrases
from bench.load.server import Server
from bench.load.workload import QUERIES, ChatLedger

__all__ = ["REBUILT_INDEX", "build_cli", "rss_trend", "run_soak", "write_rebuild_corpus"]

REBUILT_INDEX = "bench-rebuild"  # a small index the soak searches and rebuilds midway


def write_rebuild_corpus(path: Path, n_docs: int = 120) -> Path:
    """A small BEIR corpus of synthetic materials documents (the index rebuilt midway)."""
    materials, structures, properties = phrases()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for i in range(n_docs):
            text = f"{materials[i % len(materials)]} {structures[i % len(structures)]} {properties[(i * 7) % len(properties)]}"
            f.write(json.dumps({"_id": f"rb-{i:04d}", "title": materials[i % len(materials)], "text": text}) + "\n")
    return path


def build_cli(env: dict[str, str], corpus: Path, name: str, *, timeout_s: float = 900) -> float:
    """``matlas index build --corpus CORPUS --out NAME`` as a subprocess; its wall time in seconds."""
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "matlas", "index", "build", "--corpus", str(corpus), "--out", name,
                    "--json"], env=env, check=True, timeout=timeout_s, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                   cwd=Path(__file__).resolve().parents[2])
    return time.monotonic() - t0


def rss_trend(samples: list[tuple[float, int]], seconds: float) -> dict:
    """Growth of RSS over the soak: the median of the samples of the first tenth (after warm-up) vs the
    largest of the last half, in per cent."""
    def median(xs: list[int]) -> float:
        xs = sorted(xs)
        return float(xs[len(xs) // 2]) if xs else 0.0
    start = median([r for t, r in samples if t <= max(seconds * 0.1, 5.0)])
    end = max((r for t, r in samples if t >= seconds * 0.5), default=0)
    peak = max((r for _, r in samples), default=0)
    growth = (end - start) / start * 100 if start else 0.0
    return {"rss_start_mb": round(start / 2**20), "rss_end_max_mb": round(end / 2**20), "rss_peak_mb": round(peak / 2**20),
            "rss_growth_pct": round(growth, 1), "rss_samples": len(samples)}


async def _loop(client: httpx.AsyncClient, send, running, tally: Tally, lane: int, pause_s: float) -> None:
    i = 0
    while running():
        await timed(send, client, i, lane, tally)
        i += 1
        await asyncio.sleep(pause_s)


def run_soak(server: Server, *, seconds: float, redis, env: dict[str, str], corpus: Path,
             search_clients: int = 4, chat_clients: int = 2, redis_down_s: float = 2.0,
             api_key: str | None = None, rss_every_s: float = 2.0, log=lambda *parts: None) -> dict:
    """Soak ``server`` for ``seconds`` (longer if the rebuild is not done by then): Redis down at 1/3
    for ``redis_down_s``, a rebuild of ``REBUILT_INDEX`` started at 1/2 (bounded by a timeout);
    failed searches, lost chat turns and the RSS trend."""
    headers = auth_headers(api_key)
    searches, chats = Tally(search_clients), Tally(chat_clients)
    ledger = ChatLedger()
    faults: list[dict] = []
    samples: list[tuple[float, int]] = []
    start = time.monotonic()
    done = threading.Event()

    def sampler() -> None:
        while not done.wait(rss_every_s):
            samples.append((time.monotonic() - start, server.rss_bytes()))

    def injector() -> None:
        if done.wait(seconds / 3):
            return
        t = time.monotonic() - start
        redis.stop()
        time.sleep(redis_down_s)
        redis.start()
        faults.append({"fault": "redis stopped and restarted", "at_s": round(t, 1),
                       "down_s": round(time.monotonic() - start - t, 1)})
        log(f"  {faults[-1]}")
        if done.wait(max(0.0, seconds / 2 - (time.monotonic() - start))):
            return
        t = time.monotonic() - start
        try:
            took = build_cli(env, corpus, REBUILT_INDEX, timeout_s=max(seconds, 900))
            faults.append({"fault": f"rebuild of {REBUILT_INDEX} published", "at_s": round(t, 1), "build_s": round(took, 1)})
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
            detail = f"{type(err).__name__}: {err}; {(err.stderr or '')[-400:]}"
            faults.append({"fault": "rebuild failed", "at_s": round(t, 1), "error": detail,
                           "after_s": round(time.monotonic() - start - t, 1)})
        log(f"  {faults[-1]}")

    def search(client: httpx.AsyncClient, i: int, lane: int):
        index = REBUILT_INDEX if i % 2 else None  # alternate: the rebuilt index and the default one
        return client.post("/v1/search", json={"query": QUERIES[i % len(QUERIES)], "k": 10}
                           | ({"index": index} if index else {}))

    injecting = threading.Thread(target=injector, daemon=True)

    def running() -> bool:  # until the time is up and the faults are over (a slow rebuild extends the soak)
        return time.monotonic() < start + seconds or injecting.is_alive()

    async def main() -> None:
        limits = httpx.Limits(max_connections=search_clients + chat_clients)
        async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=120, limits=limits) as client:
            chat = ledger.request()
            await asyncio.gather(*(_loop(client, search, running, searches, lane, 0.05) for lane in range(search_clients)),
                                 *(_loop(client, chat, running, chats, lane, 0.2) for lane in range(chat_clients)))

    sampling = threading.Thread(target=sampler, daemon=True)
    sampling.start()
    injecting.start()
    asyncio.run(main())
    done.set()
    sampling.join()
    wall = time.monotonic() - start
    searches.wall_s = chats.wall_s = wall
    search_summary, chat_summary = searches.summary(), chats.summary()
    return {"seconds": round(wall, 1), "workers": server.workers, "sessions": "redis",
            "searches": search_summary["requests"], "failed_searches": search_summary["errors"],
            "search_5xx": search_summary["5xx"], "search_first_errors": search_summary["first_errors"],
            "chat_turns": chat_summary["requests"], "chat_errors": chat_summary["errors"], "chat_5xx": chat_summary["5xx"],
            "chat_first_errors": chat_summary["first_errors"], **ledger.check(server.base, headers),
            "faults": faults, **rss_trend(samples, wall)}
