"""How indexes are laid out on Qdrant: names, vector storage choices and upload behaviour."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["QdrantParams"]


class QdrantParams(BaseModel):
    """Storage and upload choices of indexes on Qdrant (``MATLAS_QDRANT_STORAGE__*``).

    Per point: ``fde`` (the MUVERA FDE, dot product, int8 scalar-quantized with rescoring),
    ``tok`` (the token multivector, MaxSim comparator, float16, on disk, no HNSW graph: it is only
    ever scored for the prefetched candidates or by the capped exact scan), ``dense`` (pooled
    vector, dot product) and ``bm25`` (sparse, IDF applied by Qdrant).
    """

    model_config = ConfigDict(frozen=True)

    prefix: str = Field("matlas", pattern=r"^[A-Za-z0-9_-]{1,32}$",
                        description="Alias PREFIX__NAME, collections PREFIX__NAME__v000001 ...")
    fde_quantization: Literal["int8", "none"] = Field("int8", description="Scalar quantization of the FDE vectors.")
    rescore: bool = Field(True, description="Re-score quantized FDE candidates with the original vectors.")
    oversampling: float = Field(2.0, ge=1.0, description="Quantized candidates fetched per kept one before rescoring.")
    fde_on_disk: bool = Field(True, description="Original FDE vectors on disk, read to rescore (the int8 copy stays in RAM).")
    token_datatype: Literal["float16", "float32"] = Field("float16", description="Storage type of token vectors.")
    tokens_on_disk: bool = Field(True, description="Token multivectors memory-mapped from disk.")
    hnsw_m: int = Field(16, ge=4, description="HNSW graph degree of the fde and dense vectors.")
    hnsw_ef_construct: int = Field(100, ge=4, description="HNSW build-time beam width.")
    shards: int = Field(1, ge=1, description="Shards of each collection (spread over the cluster's nodes).")
    replication_factor: int = Field(1, ge=1, description="Copies of each shard.")
    batch_size: int = Field(64, ge=1, description="Points per upload request.")
    retries: int = Field(4, ge=0, description="Retries of a failed upload request (exponential backoff).")
    exact_max_documents: int = Field(50_000, ge=1, description="Largest index the exact (full MaxSim scan) mode accepts.")
