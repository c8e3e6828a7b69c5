"""API keys for tests, made without matlas (``secrets`` + ``hashlib``), as an operator would store them."""

from __future__ import annotations

import hashlib
import secrets


def api_key(name: str, scope: str) -> tuple[str, str]:
    """A random bearer token and its ``name:scope:sha256hex`` entry of ``MATLAS_API_KEYS``."""
    token = secrets.token_urlsafe(24)
    return token, f"{name}:{scope}:{hashlib.sha256(token.encode()).hexdigest()}"


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header of ``token``."""
    return {"Authorization": f"Bearer {token}"}
