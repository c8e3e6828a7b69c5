"""Random-hyperplane LSH (Charikar 2002): ``sign(x W_m)`` with Gaussian ``W_m`` after centering.

Each modality gets its own seeded hyperplanes, so across two modalities that share no feature
space the codes are unrelated: this is the data-independent floor of the cross-modal figures.
Within one modality it preserves angles, which is what the throughput bench uses.
"""

from __future__ import annotations

from retrieval.hashing.base import Hasher

__all__ = ["LSH"]


class LSH(Hasher):
    """Random hyperplanes through the mean of each modality; learns nothing else."""

    kind = "lsh"

    def _fit(self, paired, unpaired, rng):
        return tuple(rng.standard_normal((x.shape[1], self.bits)) for x in paired)
