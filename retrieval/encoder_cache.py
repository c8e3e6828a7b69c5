"""One loaded text encoder per model id and backend, shared by everything in a process that encodes."""

from __future__ import annotations

import threading

from retrieval.encoder import MultiVectorEncoder
from retrieval.encoders.options import EncoderOptions

__all__ = ["EncoderCache"]


class EncoderCache:
    """Loads each ``MultiVectorEncoder`` once (on first use) with this process's ``EncoderOptions``
    (device, backend, batching, threads, export cache); ``device``/``batch_size`` alone also work."""

    def __init__(self, options: EncoderOptions | None = None, *, device: str = "auto", batch_size: int = 32) -> None:
        self.options = options or EncoderOptions(device=device, batch_size=batch_size)
        self.device, self.batch_size = self.options.device, self.options.batch_size
        self._encoders: dict[tuple[str, str], MultiVectorEncoder] = {}
        self._lock = threading.Lock()

    def get(self, model_id: str, backend: str | None = None) -> MultiVectorEncoder:
        """The encoder for ``model_id`` on ``backend`` (default: the configured one), loaded on first use.

        Indexes pass the backend their manifest records, so they are queried as they were built.
        """
        options = self.options.model_copy(update={"backend": backend} if backend else {})
        with self._lock:
            key = (model_id, options.backend)
            if key not in self._encoders:
                self._encoders[key] = MultiVectorEncoder(model_id, **options.model_dump())
            return self._encoders[key]

    __call__ = get

    def add(self, encoder: MultiVectorEncoder) -> None:
        """Serve an already loaded ``encoder`` for its ``model_id`` (on the backend it runs, and as the default)."""
        with self._lock:
            self._encoders[(encoder.model_id, encoder.backend)] = encoder
            self._encoders[(encoder.model_id, self.options.backend)] = encoder
