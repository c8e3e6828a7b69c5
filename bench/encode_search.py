"""Where one ``POST /v1/search`` spends its time on the default materials index, stage by stage
(encode, FDE, MIPS, token reads, MaxSim, hit assembly, serialization) and end to end over HTTP
against a real ``matlas serve`` process with one keep-alive client. ``cpu_mean_ms`` is the CPU
time of this process per stage (all threads), and for HTTP the server process's CPU time per
request, which a loaded machine inflates far less than wall time::

    .venv/bin/python -m bench.encode_search                      # default backend, 200 requests
    .venv/bin/python -m bench.encode_search --backend torch --json

The index is built once per backend into ``.cache/bench/home-<backend>`` and reused.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench._data import CACHE, ROOT, emit

QUERIES = [
    "wide band gap nitride semiconductor", "lithium cobalt oxide layered cathode", "perovskite oxide",
    "rock salt structure", "ferromagnetic transition metal", "hexagonal close packed metal", "GaN",
    "silicon diamond cubic", "halide with fluorite structure", "noble gas", "cubic spinel oxide",
    "two dimensional layered material", "superconducting cuprate", "zinc blende semiconductor",
    "alkali metal bcc", "olivine phosphate", "rutile TiO2", "lanthanide element", "wurtzite", "Heusler alloy",
]


def _home(backend: str) -> Path:
    """A data home whose default ``materials`` index is built with ``backend``."""
    from index.build import BuildParams, build_index
    from index.versions import IndexRoot
    from retrieval.encoder import MultiVectorEncoder
    from retrieval.materials_corpus import materials_corpus

    home = CACHE / f"home-{backend}"
    root = IndexRoot(home / "indexes" / "materials")
    if not root.exists():
        encoder = MultiVectorEncoder(device="cpu", backend=backend, cache_dir=home / "cache" / "encoders")
        build_index(materials_corpus(), root.path, encoder, BuildParams(), progress=False)
    return home


def _stages(home: Path, backend: str, rounds: int, candidates: int) -> dict[str, list[float]]:
    from index.faiss_index import default_search_params, search_index
    from matlas.api.models import SearchResponse
    from retrieval.encoder_cache import EncoderCache
    from retrieval.encoders.options import EncoderOptions
    from retrieval.maxsim import maxsim_scores
    from retrieval.service import SearchService

    options = EncoderOptions(device="cpu", backend=backend, cache_dir=home / "cache" / "encoders")
    service = SearchService(home / "indexes", EncoderCache(options), candidates=candidates)
    searcher = service.searcher("materials")
    manifest = searcher.index.manifest
    params = manifest.search_params or default_search_params(manifest.factory, candidates)
    times: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    last_cpu = [time.process_time()]

    def tick(name: str, start: float) -> float:
        now, now_cpu = time.perf_counter(), time.process_time()
        times.setdefault(name, []).append((now - start) * 1000)
        if name != "sum of stages":
            cpu.setdefault(name, []).append((now_cpu - last_cpu[0]) * 1000)
        last_cpu[0] = now_cpu
        return now

    searcher.search("warm-up", 10)
    for r in range(rounds):
        q = QUERIES[r % len(QUERIES)]
        t0 = t = time.perf_counter()
        last_cpu[0] = time.process_time()
        service.searcher("materials")
        t = tick("service lookup", t)
        tokens, _ = searcher.encoder.encode([q], kind="query", output="both")
        t = tick("encode", t)
        fde = searcher.fde.encode_queries(tokens)
        t = tick("FDE", t)
        _, cand = search_index(searcher.index.fde_index, fde, candidates, params)
        t = tick("MIPS", t)
        ids = cand[0][cand[0] >= 0]
        docs = searcher.index.tokens.get(ids)
        t = tick("token reads", t)
        scores = maxsim_scores(tokens[0], docs)
        top = np.argsort(-scores, kind="stable")[:10]
        t = tick("MaxSim + top-k", t)
        hits = searcher.hits(scores[top], ids[top])
        t = tick("hit assembly", t)
        SearchResponse(index="materials", version=manifest.version, mode="muvera", took_ms=0.0, hits=hits).model_dump_json()
        t = tick("serialization", t)
        tick("sum of stages", t0)
        t = time.perf_counter()
        last_cpu[0] = time.process_time()
        searcher.search(q, 10)
        tick("Searcher.search()", t)
    return times, cpu


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _http(home: Path, backend: str, rounds: int) -> tuple[list[float], float]:
    """Client-side ms per request, and the server's mean CPU ms per request."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MATLAS_HOME": str(home), "MATLAS_ENCODER_BACKEND": backend, "MATLAS_DEVICE": "cpu",
           "MATLAS_ENCODER_CACHE": str(home / "cache" / "encoders"), "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "matlas", "serve", "--port", str(port), "--no-build-default"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(600):
                try:
                    client.post("/v1/search", json={"query": "warm-up", "k": 10}).raise_for_status()
                    break
                except httpx.TransportError:
                    time.sleep(0.5)
            else:
                raise RuntimeError("matlas serve did not come up")
            times, cpu0 = [], _cpu_seconds(proc.pid)
            for r in range(rounds):
                start = time.perf_counter()
                client.post("/v1/search", json={"query": QUERIES[r % len(QUERIES)], "k": 10}).raise_for_status()
                times.append((time.perf_counter() - start) * 1000)
            return times, (_cpu_seconds(proc.pid) - cpu0) * 1000 / rounds
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="auto", help="encoder backend of the index (auto: the CPU default)")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--candidates", type=int, default=300, help="FDE candidates (the settings default)")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from retrieval.encoder import resolve_backend

    backend = resolve_backend(args.backend, "cpu")
    home = _home(backend)
    times, cpu = _stages(home, backend, args.rounds, args.candidates)
    server_cpu = None
    if not args.no_http:
        times["POST /v1/search (HTTP, one client)"], server_cpu = _http(home, backend, args.rounds)
    rows = [{"stage": name, "p50_ms": float(np.percentile(t, 50)), "p99_ms": float(np.percentile(t, 99)),
             "mean_ms": float(np.mean(t)),
             "cpu_mean_ms": float(np.mean(cpu[name])) if name in cpu else server_cpu}
            for name, t in times.items()]
    stages = [n for n in cpu if n != "Searcher.search()"]
    next(r for r in rows if r["stage"] == "sum of stages")["cpu_mean_ms"] = float(sum(np.mean(cpu[n]) for n in stages))
    emit(rows, args.json, {"backend": backend, "rounds": args.rounds, "candidates": args.candidates,
                           "cpus": os.cpu_count()})


if __name__ == "__main__":
    main()
