"""How to run an encoder (the slice of the settings an encoder takes): device, backend, batching, threads, cache."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["EncoderOptions"]


class EncoderOptions(BaseModel):
    """Keyword arguments of ``MultiVectorEncoder`` besides the model (``MultiVectorEncoder(m, **o.model_dump())``)."""

    device: str = Field("auto", description="Torch device: auto, cpu, cuda, cuda:N.")
    backend: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        "auto", description="Inference backend; auto is torch on a GPU and the CPU default elsewhere."
    )
    batch_size: int = Field(256, ge=1, description="Most texts in one batch.")
    max_tokens: int = Field(8192, ge=1, description="Padded-token budget of one batch.")
    threads: int = Field(0, ge=0, description="CPU inference threads, set once per process (0: all cores).")
    cache_dir: Path | None = Field(None, description="ONNX export cache; default an 'onnx' folder by the weights.")
