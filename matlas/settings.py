"""Platform settings, read once from ``MATLAS_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.qdrant.params import QdrantParams
from matlas.security.keys import KeyRing
from retrieval.encoders.options import EncoderOptions
from retrieval.fde import FDEParams

__all__ = ["Settings", "redacted", "scrub"]


class Settings(BaseSettings):
    """Everything configurable; nested values use ``__`` (``MATLAS_FDE__NUM_REPETITIONS=10``)."""

    model_config = SettingsConfigDict(
        env_prefix="MATLAS_", env_nested_delimiter="__", env_file=".env", extra="ignore",
        populate_by_name=True,
    )

    home: Path = Field(Path("var"), description="Data directory (indexes, sessions, caches).")
    index_root: Path | None = Field(None, description="Directory of named indexes; default HOME/indexes.")
    default_index: str = Field("materials", description="Index used when a request names none.")
    encoder_model: str = Field(
        "all-MiniLM-L6-v2", description="sentence-transformers or ColBERT model name or local path."
    )
    device: str = Field("auto", description="Torch device of the encoder: auto, cpu, cuda, cuda:1.")
    encode_batch_size: int = Field(32, ge=1)
    encoder_backend: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        "auto", description="Encoder inference: auto (torch on a GPU, ONNX Runtime fp32 on the CPU), torch, onnx, onnx-int8."
    )
    encode_max_tokens: int = Field(8192, ge=1, description="Padded-token budget of one encoder batch.")
    encoder_threads: int = Field(0, ge=0, description="CPU threads of encoder inference, set once per process (0: all cores).")
    encoder_cache: Path | None = Field(None, description="ONNX exports of encoders; default HOME/cache/encoders.")
    fde: FDEParams = Field(default_factory=FDEParams)
    index_factory: str = Field("Flat", description="FAISS factory string of new FDE indexes.")
    search_candidates: int = Field(
        300, ge=1, description="FDE candidates re-ranked by MaxSim (300: recall@10 0.96 of exact on SciFact)."
    )
    warm_llm: bool = Field(
        True, description="matlas serve loads a local chat model at start (with its warm-up), so the first question "
                          "does not wait for it.")
    search_batch: int = Field(
        16, ge=1, le=256, description="Concurrent searches of one index answered as one batch, at most (1: no batching)."
    )
    search_batch_workers: int = Field(2, ge=1, le=64, description="Threads running search batches, per process.")
    maxsim_backend: Literal["auto", "cpu", "torch", "triton"] = Field(  # gpu.kernels.maxsim.BACKENDS
        "auto", description="MaxSim re-rank backend: auto (Triton on CUDA, else cpu), cpu, torch, triton."
    )
    vector_backend: Literal["faiss", "qdrant"] = Field(
        "faiss", description="Where new muvera indexes are built: FAISS files under the index root, or Qdrant."
    )
    qdrant_url: str | None = Field(None, description="Qdrant server or cluster URL (http://qdrant:6333).")
    qdrant_api_key: SecretStr | None = Field(None, description="Qdrant API key (the server's QDRANT__SERVICE__API_KEY).")
    qdrant_path: Path | None = Field(None, description="Qdrant local mode (in-process, one process at a time) in this folder.")
    qdrant_timeout_s: float = Field(30.0, gt=0, description="Timeout of one Qdrant request.")
    qdrant_storage: QdrantParams = Field(default_factory=QdrantParams, description="Storage choices of Qdrant indexes.")
    hash_bits: int = Field(64, description="Code length of new cross-modal hash indexes (16, 32, 64, 128).")
    mp_snapshot: Path | None = Field(None, description="MP snapshot folder (materials.jsonl ...) for hashing and mp-ids.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_body_bytes: int = Field(2_000_000, ge=1024, description="Largest HTTP request body; larger ones get 413.")
    api_keys: SecretStr | None = Field(
        None, description="API keys as name:scope:sha256hex entries (scope read or admin), separated by commas; "
                          "make one with `matlas keys create`. Unset: keyless, loopback only.")
    allow_insecure: bool = Field(False, description="Serve a non-loopback address without API keys (anyone is admin).")
    rate_limit_search: str | None = Field(
        "600/minute", description="Per-key limit of search requests (limits notation, e.g. '10/second'; "
                                  "empty: none).")
    rate_limit_chat: str | None = Field(
        "60/minute", description="Per-key limit of chat turns and completions (limits notation; empty: none).")
    rate_limit_storage: str | None = Field(
        None, description="Where rate-limit counters live (limits storage URI); default redis_url, else memory.")
    max_concurrent_chats: int = Field(8, ge=1, description="Chat turns running at once per process; more get 503.")
    max_concurrent_generations: int = Field(
        4, ge=1, description="Completions (/v1/chat/completions) generating at once per process; more get 503.")
    request_timeout_s: float = Field(
        120.0, gt=0, description="Longest wait for a response to start; then 503 (streams, once started, go on).")
    exact_max_documents: int = Field(
        50_000, ge=0, description="Largest index a read key may search in exact mode (brute-force MaxSim).")
    mp_db: Path | None = Field(None, description="SQLite MP snapshot served offline; default HOME/mp.sqlite.")
    mp_endpoint: str | None = Field(
        None, description="MP REST endpoint; default the live MP with a key, else the embedded snapshot server."
    )
    llm_backend: Literal["auto", "openai", "hf"] = Field(
        "auto", description="auto: an OpenAI-compatible endpoint when llm_base_url or a key is set, else hf."
    )
    llm_model: str | None = Field(
        None, description="Model at the endpoint (default gpt-4o-mini), or HF path / hub id / .gguf (default SmolLM2-135M)."
    )
    llm_base_url: str | None = Field(None, description="OpenAI-compatible base URL (vLLM, llama.cpp, Ollama, matlas).")
    llm_quantization: Literal["none", "int8", "rtn4", "awq4"] = Field("none", description="Weights of hosted HF models.")
    llm_max_tokens: int = Field(1024, ge=1)
    llm_draft_tokens: int = Field(48, ge=8, description="Most tokens of an answer the model writes from linked facts.")
    llm_draft: bool = Field(True, description="The model writes answers to questions the linked facts settle; "
                            "false: they are composed from the facts without a generation.")
    mp_thermo_types: list[str] = Field(
        ["GGA_GGA+U_R2SCAN", "GGA_GGA+U"], min_length=1,
        description="MP thermo types in order of preference; each material's thermo data comes from the first it has.",
    )
    sessions_backend: Literal["sqlite", "redis"] = Field("sqlite", description="Where chat sessions persist.")
    redis_url: str | None = Field(None, description="Redis for sessions, locks and token streams (redis://host:6379/0).")
    broker_url: str | None = Field(None, description="Celery broker; unset runs tasks in-process (embedded default).")
    rebuild_every_s: float = Field(3600.0, gt=0, description="Beat period of scheduled index rebuilds.")
    rebuild_indexes: list[str] = Field(["materials"], description="Indexes beat rebuilds (JSON list in the env).")
    rebuild_keep_versions: int = Field(5, ge=1, description="Newest versions a rebuild keeps for rollback.")
    rebuild_lock_ttl_s: float = Field(60.0, gt=0, description="TTL of a rebuild's Redis lock, renewed while it runs.")
    task_time_limit_s: float = Field(3600.0, gt=0, description="Hard limit of a task; the soft limit is 90 % of it.")
    mp_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("MATLAS_MP_API_KEY", "MP_API_KEY")
    )
    llm_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("MATLAS_LLM_API_KEY", "OPENAI_API_KEY")
    )

    @field_validator("api_keys")
    @classmethod
    def _keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            KeyRing.parse(value.get_secret_value())  # raises ValueError naming the bad entry's position
        return value

    @field_validator("rate_limit_search", "rate_limit_chat")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is None or not value.strip() or value.strip().lower() in ("none", "unlimited"):
            return None
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"rate limit {value[:60]!r} is not in limits notation, e.g. '60/minute' or "
                             "'10/second;500/hour'") from None
        return value

    def key_ring(self) -> KeyRing:
        """The configured API keys (empty: keyless)."""
        return KeyRing.parse(self.api_keys.get_secret_value() if self.api_keys else None)

    @property
    def indexes_dir(self) -> Path:
        """Where named indexes live."""
        return self.index_root or self.home / "indexes"

    @property
    def encoder_cache_dir(self) -> Path:
        """Where ONNX exports of encoders are cached."""
        return self.encoder_cache or self.home / "cache" / "encoders"

    def encoder_options(self) -> EncoderOptions:
        """How encoders run: the settings' device, backend, batching, threads and export cache."""
        return EncoderOptions(device=self.device, backend=self.encoder_backend, batch_size=self.encode_batch_size,
                              max_tokens=self.encode_max_tokens, threads=self.encoder_threads,
                              cache_dir=self.encoder_cache_dir)

    @property
    def mp_db_path(self) -> Path:
        """The SQLite MP snapshot file."""
        return self.mp_db or self.home / "mp.sqlite"


def redacted(settings: Settings) -> dict[str, Any]:
    """The settings as JSON-able data, secrets shown as ``'**********'`` (or null when unset)."""
    data = settings.model_dump(mode="json")
    data["indexes_dir"] = str(settings.indexes_dir)
    return data


def scrub(text: str, settings: Settings) -> str:
    """``text`` with the configured secrets replaced by ``'**********'`` (for errors and logs).

    >>> scrub("key sk-123 rejected", Settings(llm_api_key="sk-123"))
    'key ********** rejected'
    """
    for secret in (settings.mp_api_key, settings.llm_api_key, settings.api_keys, settings.qdrant_api_key):
        if secret is not None and secret.get_secret_value():
            text = text.replace(secret.get_secret_value(), "**********")
    for key in settings.key_ring().keys:  # each stored digest on its own, too
        text = text.replace(key.sha256, "**********")
    return text
