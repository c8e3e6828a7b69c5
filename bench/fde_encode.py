"""FDE document-encoding throughput: matlas vs fastembed Muvera vs muvera-python, one run.

Matrix encoding only (no text encoder): SciFact-sized synthetic documents (default 1,000 docs x
200 unit-norm tokens x 384 dims) to 10,240-dim FDEs (R=20, k_sim=5, d_proj=16). Two token
distributions: ``clustered`` (tokens around 4 centres per document, like real contextual token
vectors: many empty SimHash partitions to fill) and ``gaussian`` (i.i.d. random directions:
almost none); ``--data scifact`` adds the first ``--docs`` SciFact documents as real MiniLM token
vectors (their own lengths, up to 256 tokens; needs ``../shared``, cached after the first run). Each
implementation is warmed up on 50 documents (dropped), then timed in ``--repeat`` round-robin rounds
(the order rotates, so load on this shared machine hits all alike): docs/s from its best round,
and two ratios to muvera-python (the reference): best round vs best round (``x ref best``) and the
median of same-round ratios (``x ref round``). Thread settings are left at their defaults.

Usage (from the repository root)::

    .venv/bin/python -m bench.fde_encode
    .venv/bin/python -m bench.fde_encode --docs 200 --repeat 1 --json
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from bench._data import (
    IMPLEMENTATIONS,
    DataUnavailable,
    as_f32,
    emit,
    gaussian,
    make_encoder,
    scifact,
    synthetic,
    time_round_robin,
)

REFERENCE = "muvera-python"


def time_impls(names, data, docs, r, k, dp, repeat) -> list[dict]:
    """One row per implementation: best and median of ``repeat`` round-robin runs over ``docs``
    after a dropped warm-up on 50 documents, or the reason it cannot run."""
    dims = r * 2**k * dp
    rows, fns = {}, {}
    for name in names:
        rows[name] = {"impl": name, "data": data, "fde_dims": dims}
        try:
            enc_docs, _ = make_encoder(name, docs[0].shape[1], r, k, dp)
            assert np.asarray(enc_docs(docs[:50])).shape == (50, dims)  # warm-up, dropped
            fns[name] = lambda enc=enc_docs: enc(docs)
        except Exception as err:  # noqa: BLE001 - a reference that cannot run is reported n/a
            rows[name]["note"] = f"n/a: {type(err).__name__}: {err}"[:120]
    times = time_round_robin(fns, repeat=repeat)
    for name, t in times.items():
        best = min(t)
        rows[name].update({"best_s": round(best, 3), "median_s": round(float(np.median(t)), 3),
                           "docs/s": round(len(docs) / best, 1)})
        if REFERENCE in times:  # best vs best, and the median of same-round ratios (same load)
            ratios = np.array(times[REFERENCE]) / np.array(t)
            rows[name]["x ref best"] = round(min(times[REFERENCE]) / best, 2)
            rows[name]["x ref round"] = round(float(np.median(ratios)), 2)
    return list(rows.values())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--params", type=int, nargs=3, default=[20, 5, 16], metavar=("R", "K_SIM", "D_PROJ"))
    ap.add_argument("--repeat", type=int, default=3, help="timed round-robin rounds")
    ap.add_argument("--impl", nargs="+", choices=list(IMPLEMENTATIONS), default=list(IMPLEMENTATIONS))
    ap.add_argument("--data", nargs="+", choices=["clustered", "gaussian", "scifact"],
                    default=["clustered", "gaussian"], help="token distributions to time")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)

    r, k, dp = args.params
    rows = []
    for data in args.data:
        if data == "clustered":
            docs = synthetic(args.docs, args.tokens, args.dim, n_queries=1)[0]
        elif data == "gaussian":
            docs = gaussian(args.docs, args.tokens, args.dim)
        else:
            try:
                docs = as_f32(scifact(args.docs)[0])
            except DataUnavailable as err:
                print(f"skipping scifact: {err}", file=sys.stderr)
                continue
        rows += time_impls(args.impl, data, docs, r, k, dp, args.repeat)
    meta = {"docs": args.docs, "tokens": args.tokens, "dim": args.dim,
            "R/k_sim/d_proj": f"{r}/{k}/{dp}", "repeat": args.repeat, "cpus": os.cpu_count()}
    emit(rows, args.json, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
