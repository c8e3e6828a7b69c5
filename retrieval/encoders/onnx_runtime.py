"""ONNX Runtime inference of encoder token states: exported once from the local weights, cached, reused.

The torch module that computes token states (``input_ids, attention_mask -> (batch, tokens, dim)``)
is exported with torch's TorchScript ONNX exporter over eager attention (the graph shape ONNX
Runtime's BERT optimizer fuses into ``EmbedLayerNormalization``, ``Attention``,
``SkipLayerNormalization`` and ``BiasGelu``; the dynamo exporter's SDPA graph stays unfused, about
1.2x slower), checked against torch on a probe batch, and quantized dynamically for ``onnx-int8``
(int8 per-channel weights of every MatMul and of the fused QKV projection, ``QAttention``;
activations quantized on the fly). The dynamo exporter is the fallback when TorchScript fails. The files live in
``cache_dir/<model>-<key>/``, where the key follows the weight files, so changed weights export
anew. A missing, truncated or unreadable export is rebuilt, never crashed on; concurrent
processes serialise the export on a lock file and publish it with one directory rename.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import shutil
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.capi import onnxruntime_pybind11_state as _ort_state

__all__ = ["EXPORT_FORMAT", "MIN_PROBE_COSINE", "OnnxTokenModel", "export_dir"]

log = logging.getLogger(__name__)

EXPORT_FORMAT = 2  # 2: TorchScript export, fused attention, int8 QAttention
MIN_PROBE_COSINE = 0.9999
FILES = {False: "model.onnx", True: "model.int8.onnx"}
_BROKEN = (OSError, ValueError, RuntimeError, KeyError, _ort_state.Fail, _ort_state.InvalidProtobuf,
           _ort_state.NoSuchFile, _ort_state.InvalidArgument, _ort_state.RuntimeException)


def export_dir(cache_dir: Path, name: str, weights: Sequence[Path]) -> Path:
    """``cache_dir/<name>-<key>``: the key hashes the weight files' paths, sizes and mtimes."""
    digest = hashlib.sha256(str(EXPORT_FORMAT).encode())
    for file in sorted(weights):
        st = file.stat()
        digest.update(f"{file.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-48:]
    return Path(cache_dir) / f"{slug}-{digest.hexdigest()[:16]}"


def _min_cosine(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    a, b = a[mask.astype(bool)], b[mask.astype(bool)]
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-12)
    return float(cos.min())


class OnnxTokenModel:
    """Token states from an ONNX Runtime session over the cached export of ``module``.

    ``module(input_ids, attention_mask)`` must return ``(batch, tokens, dim)`` token states; it is
    run only when the export is missing or broken (and on ``probe`` to check the export).
    """

    def __init__(
        self,
        module: torch.nn.Module,
        probe: tuple[np.ndarray, np.ndarray],
        folder: Path,
        *,
        quantized: bool,
        threads: int = 0,
        max_length: int = 512,
    ) -> None:  # threads: intra-op threads of the session (0: the cores this process may run on)
        self.folder, self.quantized, self.threads = Path(folder), quantized, threads
        try:
            self.session = self._open()
        except _BROKEN as err:
            log.warning("ONNX export at %s unusable (%s); exporting again", self.folder, err)
            with _lock(self.folder.parent):
                try:  # another process may have exported it while this one waited
                    self.session = self._open()
                except _BROKEN:
                    _export(module, probe, self.folder, max_length)
                    self.session = self._open()

    @property
    def path(self) -> Path:
        """The ONNX file this session runs."""
        return self.folder / FILES[self.quantized]

    def _open(self) -> ort.InferenceSession:
        meta = json.loads((self.folder / "export.json").read_text())
        if meta.get("format") != EXPORT_FORMAT:
            raise ValueError(f"export format {meta.get('format')!r}, expected {EXPORT_FORMAT}")
        if self.path.stat().st_size != meta["sizes"][self.path.name]:
            raise ValueError(f"{self.path.name} has {self.path.stat().st_size} bytes, expected {meta['sizes'][self.path.name]}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads or len(os.sched_getaffinity(0))
        # no spinning between ops: on a shared machine spinning workers steal the cores the next op
        # needs (one 21-token query, 2 threads, loaded: p50 80 ms without, 115 ms with)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        return ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """``(batch, tokens, dim)`` float32 token states of a padded batch."""
        return self.session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})[0]


@contextlib.contextmanager
def _lock(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".export.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(path: Path, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


def _attention_shape(module: torch.nn.Module) -> tuple[int, int]:
    """``(num_heads, hidden_size)`` of the transformer inside ``module`` (0, 0: let the optimizer guess)."""
    config = getattr(getattr(module, "transformer", None), "config", None)
    return getattr(config, "num_attention_heads", 0), getattr(config, "hidden_size", 0)


@contextlib.contextmanager
def _eager_attention(module: torch.nn.Module) -> Iterator[None]:
    """Run ``module``'s transformer with eager attention inside the block (the fusable graph)."""
    transformer = getattr(module, "transformer", None)
    before = getattr(getattr(transformer, "config", None), "_attn_implementation", None)
    if before is None or before == "eager" or not hasattr(transformer, "set_attn_implementation"):
        yield
        return
    transformer.set_attn_implementation("eager")
    try:
        yield
    finally:
        transformer.set_attn_implementation(before)


def _to_onnx(module: torch.nn.Module, ids: np.ndarray, mask: np.ndarray, path: Path, max_length: int) -> None:
    """Write ``module``'s graph to ``path``: TorchScript over eager attention, else dynamo."""
    args = (torch.from_numpy(ids), torch.from_numpy(mask))
    names = {"input_names": ["input_ids", "attention_mask"], "output_names": ["token_states"]}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            with _eager_attention(module):
                axes = {"batch": 0, "tokens": 1}
                torch.onnx.export(module, args, str(path), dynamo=False, opset_version=17, **names,
                                  dynamic_axes={n: {i: a for a, i in axes.items()} for n in (*names["input_names"], "token_states")})
            return
        except Exception as err:  # noqa: BLE001 - any TorchScript failure falls back to dynamo
            log.info("TorchScript ONNX export failed (%s); using the dynamo exporter", err)
        batch, tokens = torch.export.Dim("batch"), torch.export.Dim("tokens", max=max_length)
        program = torch.onnx.export(
            module, args, dynamo=True, **names, optimize=True, verbose=False,
            dynamic_shapes={"input_ids": {0: batch, 1: tokens}, "attention_mask": {0: batch, 1: tokens}},
        )
        program.save(str(path), external_data=False)


def _export(module: torch.nn.Module, probe: tuple[np.ndarray, np.ndarray], folder: Path, max_length: int) -> None:
    """Export, fuse, check and quantize ``module`` into ``folder`` (replaced in one rename)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    ids, mask = probe
    tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with torch.inference_mode():
            reference = module(torch.from_numpy(ids), torch.from_numpy(mask)).float().numpy()
        _to_onnx(module, ids, mask, tmp / "raw.onnx", max_length)
        fp32 = tmp / FILES[False]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                heads, hidden = _attention_shape(module)
                optimizer.optimize_model(str(tmp / "raw.onnx"), model_type="bert", num_heads=heads,
                                         hidden_size=hidden).save_model_to_file(str(fp32))
            cosine = _min_cosine(_run(fp32, ids, mask), reference, mask)
        except _BROKEN as err:  # fusion is an optimisation: an unfusable graph runs unfused
            log.info("ONNX Runtime fusion skipped: %s", err)
            cosine = -1.0
        if cosine < MIN_PROBE_COSINE:
            shutil.copyfile(tmp / "raw.onnx", fp32)
            cosine = _min_cosine(_run(fp32, ids, mask), reference, mask)
        if cosine < MIN_PROBE_COSINE:
            raise RuntimeError(f"the ONNX export disagrees with torch (token cosine {cosine:.5f})")
        (tmp / "raw.onnx").unlink()
        quantize_dynamic(fp32, tmp / FILES[True], weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Attention"],
                         extra_options={"DefaultTensorType": TensorProto.FLOAT})
        meta = {
            "format": EXPORT_FORMAT,
            "sizes": {f.name: f.stat().st_size for f in tmp.glob("*.onnx")},
            "probe_min_cosine": {"fp32": cosine, "int8": _min_cosine(_run(tmp / FILES[True], ids, mask), reference, mask)},
            "torch": torch.__version__,
            "onnxruntime": ort.__version__,
        }
        (tmp / "export.json").write_text(json.dumps(meta, indent=2) + "\n")
        old = folder.with_name(f"{folder.name}.old{os.getpid()}")
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
