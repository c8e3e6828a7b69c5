"""One loaded text encoder per model id, shared by everything in a process that encodes."""

from __future__ import annotations

import threading

from retrieval.encoder import MultiVectorEncoder

__all__ = ["EncoderCache"]


class EncoderCache:
    """Loads each ``MultiVectorEncoder`` once (on first use) with this process's device and batch size."""

    def __init__(self, *, device: str = "auto", batch_size: int = 32) -> None:
        self.device, self.batch_size = device, batch_size
        self._encoders: dict[str, MultiVectorEncoder] = {}
        self._lock = threading.Lock()

    def get(self, model_id: str) -> MultiVectorEncoder:
        """The encoder for ``model_id``, loaded on first use."""
        with self._lock:
            if model_id not in self._encoders:
                self._encoders[model_id] = MultiVectorEncoder(model_id, device=self.device, batch_size=self.batch_size)
            return self._encoders[model_id]

    __call__ = get

    def add(self, encoder: MultiVectorEncoder) -> None:
        """Serve an already loaded ``encoder`` for its ``model_id``."""
        with self._lock:
            self._encoders[encoder.model_id] = encoder
