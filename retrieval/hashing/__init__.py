"""Cross-modal hashing: RREH (semi-paired), CMFH and LSH baselines, features, Hamming mAP."""

from retrieval.hashing.base import (
    BITS,
    Hasher,
    HasherManifest,
    load_hasher,
    pack_codes,
    unpack_codes,
)
from retrieval.hashing.cmfh import CMFH
from retrieval.hashing.evaluate import hamming_distances, map_at_all
from retrieval.hashing.lsh import LSH
from retrieval.hashing.rreh import RREH

__all__ = ["BITS", "CMFH", "LSH", "RREH", "Hasher", "HasherManifest", "hamming_distances", "load_hasher",
           "map_at_all", "pack_codes", "unpack_codes"]
