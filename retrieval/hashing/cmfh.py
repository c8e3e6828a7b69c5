"""CMFH: collective matrix factorization hashing (Ding, Guo and Zhou, CVPR 2014). Paired data only.

With mapped features ``X_1``, ``X_2`` ``(n, d_m)`` of ``n`` pairs (rows are samples), CMFH solves::

    min  lam ||X_1 - V U_1||^2 + (1 - lam) ||X_2 - V U_2||^2
       + mu (||V - X_1 P_1||^2 + ||V - X_2 P_2||^2)
       + gamma (||U_1||^2 + ||U_2||^2 + ||P_1||^2 + ||P_2||^2 + ||V||^2)

over the shared latent ``V`` ``(n, bits)``, bases ``U_m`` ``(bits, d_m)`` and hash projections
``P_m`` ``(d_m, bits)``, alternating the closed-form updates::

    U_1 = (V'V + gamma/lam I)^-1 V'X_1            U_2 = (V'V + gamma/(1-lam) I)^-1 V'X_2
    P_m = (X_m'X_m + gamma/mu I)^-1 X_m'V
    V   = (lam X_1 U_1' + (1-lam) X_2 U_2' + mu (X_1 P_1 + X_2 P_2))
          (lam U_1 U_1' + (1-lam) U_2 U_2' + (2 mu + gamma) I)^-1

and hashes a query ``x`` of modality ``m`` as ``sign(x P_m)``. Unpaired samples are ignored.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from retrieval.hashing.base import Hasher

__all__ = ["CMFH"]


def ridge(x: np.ndarray, y: np.ndarray, reg: float) -> np.ndarray:
    """``argmin_W ||y - x W||^2 + reg ||W||^2`` for ``x`` ``(n, d)``, ``y`` ``(n, k)``: ``(d, k)``."""
    return np.linalg.solve(x.T @ x + reg * np.eye(x.shape[1]), x.T @ y)


class CMFH(Hasher):
    """Collective matrix factorization hashing on the paired samples."""

    kind = "cmfh"

    def __init__(self, bits: int = 64, *, lam: float = 0.5, mu: float = 100.0, gamma: float = 1e-3,
                 iters: int = 30, **kwargs: Any) -> None:
        super().__init__(bits, **kwargs)
        if not 0 < lam < 1:
            raise ValueError(f"lam must be in (0, 1), got {lam!r}")
        if mu <= 0 or gamma <= 0 or iters < 1:
            raise ValueError(f"mu, gamma must be > 0 and iters >= 1, got mu={mu!r} gamma={gamma!r} iters={iters!r}")
        self.lam, self.mu, self.gamma, self.iters = lam, mu, gamma, iters

    def params(self) -> dict[str, Any]:
        return super().params() | {"lam": self.lam, "mu": self.mu, "gamma": self.gamma, "iters": self.iters}

    def _fit(self, paired, unpaired, rng):
        x1, x2 = paired
        lam, mu, gamma, eye = self.lam, self.mu, self.gamma, np.eye(self.bits)
        v = rng.standard_normal((len(x1), self.bits))
        for _ in range(self.iters):
            u1 = ridge(v, x1, gamma / lam)
            u2 = ridge(v, x2, gamma / (1 - lam))
            p1, p2 = ridge(x1, v, gamma / mu), ridge(x2, v, gamma / mu)
            gram = lam * u1 @ u1.T + (1 - lam) * u2 @ u2.T + (2 * mu + gamma) * eye
            v = np.linalg.solve(gram, (lam * x1 @ u1.T + (1 - lam) * x2 @ u2.T + mu * (x1 @ p1 + x2 @ p2)).T).T
        return ridge(x1, v, gamma / mu), ridge(x2, v, gamma / mu)
