"""Load benchmark of a real ``matlas serve`` on loopback (issue 14): search QPS and p50/p99 at 1, 4,
16 and 64 concurrent clients on the default index and on a synthetic 100k-document index, chat turns
per minute with a scripted OpenAI-compatible model, errors, 5xx and peak RSS, with several uvicorn
workers and with one; sessions live in a private Redis. Then a soak of the multi-worker server, with Redis stopped and
restarted and an index rebuild published midway. Everything is bounded in time and stops by itself::

    .venv/bin/python -m bench.load                               # full run (~20 min here; soak 5 min)
    .venv/bin/python -m bench.load --soak-seconds 120 --json     # shorter soak, JSON for programs
    .venv/bin/python -m bench.load --big-docs 0 --levels 1 4 --seconds 3 --soak-seconds 20
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

from bench.load.corpus import build_synthetic_index
from bench.load.provider import scripted_provider, serving
from bench.load.report import print_tables, targets
from bench.load.run import load_run
from bench.load.server import Server, server_env
from bench.load.soak import REBUILT_INDEX, build_cli, run_soak, write_rebuild_corpus

DEFAULT_HOME = Path(__file__).resolve().parents[2] / ".cache" / "bench" / "load"


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--home", type=Path, default=DEFAULT_HOME, help="MATLAS_HOME of the servers (indexes are kept)")
    p.add_argument("--default-index", default="materials", help="the server's default index (built on first start)")
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers of the multi-worker run (a 1-worker run follows)")
    p.add_argument("--one-worker", action=argparse.BooleanOptionalAction, default=True,
                   help="also measure a 1-worker server after the --workers one")
    p.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16, 64], help="concurrent search clients")
    p.add_argument("--seconds", type=float, default=10.0, help="time per search level")
    p.add_argument("--max-requests", type=int, default=5000, help="most requests per search level")
    p.add_argument("--warmup", type=int, default=8, help="search requests per index before measuring (dropped)")
    p.add_argument("--big-docs", type=int, default=100_000, help="documents of the synthetic index (0: none)")
    p.add_argument("--big-fde-dim", type=int, default=2048, help="count-sketched FDE dims of the synthetic index")
    p.add_argument("--chat-clients", type=int, default=4)
    p.add_argument("--chat-seconds", type=float, default=30.0)
    p.add_argument("--soak-seconds", type=float, default=300.0, help="soak length (0: no soak)")
    p.add_argument("--redis-down-s", type=float, default=2.0, help="how long Redis stays down in the soak")
    p.add_argument("--api-key", default=os.environ.get("MATLAS_BENCH_API_KEY"),
                   help="bearer key sent with every request (default $MATLAS_BENCH_API_KEY)")
    p.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE", help="extra server setting")
    p.add_argument("--start-timeout", type=float, default=900.0, help="seconds a server may take to get warm")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = p.parse_args(argv)
    if any(n < 1 for n in args.levels) or args.workers < 1:
        p.error("--levels and --workers must be >= 1")
    return args


def _big_index(home: Path, n_docs: int, fde_dim: int) -> tuple[str, dict]:
    """The synthetic index's name and its build figures (measured now, or those of the build that made it)."""
    from index.versions import IndexRoot
    from matlas import wiring
    from matlas.settings import Settings

    name = f"synthetic-{n_docs}"
    root, record = home / "indexes" / name, home / f"{name}.build.json"
    if IndexRoot(root).exists() and record.exists():
        return name, json.loads(record.read_text()) | {"cached": True}
    shutil.rmtree(root, ignore_errors=True)
    figures = build_synthetic_index(root, wiring.encoder(Settings(home=home)), n_docs, fde_dim=fde_dim) | {"fde_dim": fde_dim}
    record.write_text(json.dumps(figures))
    return name, figures


@contextlib.contextmanager
def _redis(home: Path):
    """A private redis-server for the sessions of every server (tests/_support finds the binary)."""
    from tests._support.redis_server import RedisServer

    redis = RedisServer(home / "redis")
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


def log(*parts: object) -> None:
    """Progress on stderr (stdout carries the tables or the JSON)."""
    print(*parts, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> dict:
    args = _args(argv)
    home = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    extra = {"MATLAS_DEFAULT_INDEX": args.default_index} | dict(kv.split("=", 1) for kv in args.server_env)
    result: dict = {"config": {"workers": args.workers, "levels": args.levels, "seconds_per_level": args.seconds,
                               "chat_clients": args.chat_clients, "soak_seconds": args.soak_seconds,
                               "api_key": bool(args.api_key), "cpus": os.cpu_count()},
                    "builds": {}, "runs": []}
    indexes: list[str | None] = [None]
    if args.big_docs:
        log(f"synthetic {args.big_docs}-document index ...")
        name, figures = _big_index(home, args.big_docs, args.big_fde_dim)
        result["builds"][name] = figures
        indexes.append(name)
    with serving(scripted_provider()) as llm_url, _redis(home) as redis:
        env = server_env(home, llm_url=llm_url, redis_url=redis.url, extra=extra)
        result["config"]["sessions"] = "redis"
        if args.soak_seconds:
            corpus = write_rebuild_corpus(home / f"{REBUILT_INDEX}.jsonl")
            result["builds"][REBUILT_INDEX] = {"documents": 120, "build_s": round(build_cli(env, corpus, REBUILT_INDEX), 1)}
        for workers in dict.fromkeys([args.workers, 1] if args.one_worker else [args.workers]):
            log(f"load run with {workers} worker(s) ...")
            t0 = time.monotonic()
            with Server(env, workers=workers).start(args.start_timeout) as server:
                started = time.monotonic() - t0
                run = load_run(server, indexes=indexes, levels=args.levels, seconds=args.seconds,
                               max_requests=args.max_requests, warmup=args.warmup, chat_clients=args.chat_clients,
                               chat_seconds=args.chat_seconds, api_key=args.api_key, log=log)
                result["runs"].append(run | {"start_s": round(started, 1)})
                if server.proc.poll() is not None:  # it died under load: what it printed last says why
                    log(f"matlas serve ({workers} workers) exited with {server.proc.returncode}:\n"
                        + "".join(server.lines[-40:]))
                if args.soak_seconds and workers == args.workers:  # the same server, warm and loaded
                    log(f"soak of {args.soak_seconds:.0f} s with {workers} worker(s) ...")
                    result["soak"] = run_soak(server, seconds=args.soak_seconds, redis=redis, env=env, corpus=corpus,
                                              redis_down_s=args.redis_down_s, api_key=args.api_key, log=log)
    result["targets"] = targets(result)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_tables(result)
    return result


if __name__ == "__main__":
    main()
