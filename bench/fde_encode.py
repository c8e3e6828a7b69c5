"""FDE document-encoding throughput: matlas vs fastembed Muvera vs muvera-python, one run.

Matrix encoding only (no text encoder): SciFact-sized synthetic documents (default 1,000 docs x
200 unit-norm tokens x 384 dims) to 10,240-dim FDEs (R=20, k_sim=5, d_proj=16). Two token
distributions: ``clustered`` (tokens around 4 centres per document, like real contextual token
vectors: many empty SimHash partitions to fill) and ``gaussian`` (i.i.d. random directions:
almost none); ``--data scifact`` adds the first ``--docs`` SciFact documents as real MiniLM token
vectors (their own lengths, up to 256 tokens; needs ``../shared``, cached after the first run). Each
implementation is warmed up on 50 documents (dropped), then the best of ``--repeat`` full runs is
reported as docs/s and as a ratio to muvera-python. Thread settings are left at their defaults.

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
    best_time,
    emit,
    gaussian,
    make_encoder,
    scifact,
    synthetic,
)

REFERENCE = "muvera-python"


def time_one(name, data, docs, r, k, dp, repeat) -> dict:
    """Best-of-``repeat`` document encoding time of one implementation, after a warm-up."""
    row = {"impl": name, "data": data, "fde_dims": r * 2**k * dp}
    try:
        enc_docs, _ = make_encoder(name, docs[0].shape[1], r, k, dp)
        enc_docs(docs[:50])  # warm-up, dropped
        out, best = best_time(enc_docs, docs, repeat=repeat, warmup=0)
        assert np.asarray(out).shape == (len(docs), row["fde_dims"])
        row.update({"best_s": round(best, 3), "docs/s": round(len(docs) / best, 1)})
    except Exception as err:  # noqa: BLE001 - a reference that cannot run is reported n/a
        row["note"] = f"n/a: {type(err).__name__}: {err}"[:120]
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--params", type=int, nargs=3, default=[20, 5, 16], metavar=("R", "K_SIM", "D_PROJ"))
    ap.add_argument("--repeat", type=int, default=3, help="timed runs (best is kept)")
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
                docs = [d.astype(np.float32) for d in scifact(args.docs)[0][: args.docs]]
            except DataUnavailable as err:
                print(f"skipping scifact: {err}", file=sys.stderr)
                continue
        rows += [time_one(name, data, docs, r, k, dp, args.repeat) for name in args.impl]
    for row in rows:
        ref = next((x.get("docs/s") for x in rows
                    if x["impl"] == REFERENCE and x["data"] == row["data"]), None)
        if ref and "docs/s" in row:
            row[f"x {REFERENCE}"] = round(row["docs/s"] / ref, 2)
    meta = {"docs": args.docs, "tokens": args.tokens, "dim": args.dim,
            "R/k_sim/d_proj": f"{r}/{k}/{dp}", "repeat": args.repeat, "cpus": os.cpu_count()}
    emit(rows, args.json, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
