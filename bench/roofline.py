"""What the CPU allows an encoder: FLOPs per text of a BERT-like encoder against this machine's
measured GEMM rate, as ceilings on documents/s and floors on single-query latency.

A BERT layer costs ``2 L (4 h^2 + 2 h i)`` FLOPs in its projections and ``4 L^2 h`` in attention for
a sequence of ``L`` tokens (hidden size ``h``, feed-forward size ``i``); the encoder's forward pass
is nearly all GEMM, so a backend can go no faster than ``GEMM FLOP/s / FLOPs per text``. The rate
is measured at the encoder's own GEMM shapes (the feed-forward up-projection: a 32 x 256-token
batch, and one 21-token query) with numpy's BLAS and ONNX Runtime fp32 and dynamic int8, on all
cores of this process. Wall rates suffer the machine's load; ``cpu`` rates are FLOPs per CPU-second
(per core), so ``cpu x cores`` is the unloaded ceiling::

    .venv/bin/python -m bench.roofline
    .venv/bin/python -m bench.roofline --tokens 240 --query-tokens 21 --json
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._data import emit

MINILM_L6 = {"layers": 6, "hidden": 384, "intermediate": 1536}


def flops(tokens: float, layers: int, hidden: int, intermediate: int) -> float:
    """FLOPs of one forward pass over a ``tokens``-long sequence (projections + attention).

    >>> round(flops(21, **MINILM_L6) / 1e6)
    450
    """
    projections = 2 * tokens * (4 * hidden * hidden + 2 * hidden * intermediate)
    attention = 4 * tokens * tokens * hidden
    return layers * (projections + attention)


def _matmul_model(folder: Path, k: int, n: int) -> tuple[Path, Path]:
    """An fp32 ``X[m,k] @ W[k,n]`` ONNX model and its dynamic-int8 twin (per-channel weights)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((k, n)).astype(np.float32), "W")
    graph = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"])], "mm",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["m", k])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["m", n])], [w])
    fp32, int8 = folder / f"mm{k}x{n}.onnx", folder / f"mm{k}x{n}.int8.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), fp32)
    quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=True)
    return fp32, int8


def _rate(run, flop: float, seconds: float = 1.5) -> tuple[float, float]:
    """``(wall GFLOP/s, GFLOP per CPU-second)`` of ``run()``, repeated for about ``seconds``."""
    for _ in range(2):
        run()
    reps, wall0, cpu0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds or reps < 3:
        run()
        reps += 1
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return flop * reps / wall / 1e9, flop * reps / max(cpu, 1e-9) / 1e9


def gemm_rates(threads: int, shapes: dict[str, tuple[int, int, int]]) -> list[dict]:
    """Measured GEMM rates per engine (numpy, ORT fp32, ORT int8) and shape ``(m, k, n)``."""
    import onnxruntime as ort
    from threadpoolctl import threadpool_limits

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    rows = []
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(threads):
        for name, (m, k, n) in shapes.items():
            x = np.random.default_rng(1).standard_normal((m, k)).astype(np.float32)
            w = np.random.default_rng(0).standard_normal((k, n)).astype(np.float32)
            fp32, int8 = _matmul_model(Path(tmp), k, n)
            engines = {"numpy fp32": lambda x=x, w=w: x @ w}
            for label, path in (("onnxruntime fp32", fp32), ("onnxruntime int8", int8)):
                session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                engines[label] = lambda s=session, x=x: s.run(None, {"X": x})
            for label, run in engines.items():
                wall, cpu = _rate(run, 2.0 * m * k * n)
                rows.append({"shape": f"{name} {m}x{k}x{n}", "engine": label, "GFLOPS_wall": wall,
                             "GFLOPS_per_cpu_s": cpu})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=float, default=240.0, help="mean document tokens (SciFact, truncated: 240)")
    parser.add_argument("--query-tokens", type=float, default=21.0, help="query tokens (SciFact claims p50: 21)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    h, i = MINILM_L6["hidden"], MINILM_L6["intermediate"]
    rows = gemm_rates(args.threads, {"batch": (32 * 256, h, i), "query": (int(args.query_tokens), h, i)})
    doc, query = flops(args.tokens, **MINILM_L6), flops(args.query_tokens, **MINILM_L6)
    for row in rows:
        rate = row["GFLOPS_per_cpu_s"] * args.threads  # unloaded: every core busy with this process
        if row["shape"].startswith("batch"):
            row["ceiling_docs/s"] = rate * 1e9 / doc
        else:
            row["floor_query_ms"] = query / (rate * 1e9) * 1e3
    emit(rows, args.json, {"threads": args.threads, "GFLOP_per_doc": doc / 1e9, "MFLOP_per_query": query / 1e6,
                           "doc_tokens": args.tokens, "query_tokens": args.query_tokens})


if __name__ == "__main__":
    main()
