"""Choose the torch device for encoders and kernels."""

from __future__ import annotations

from matlas.errors import InvalidInput

__all__ = ["resolve_device"]


def resolve_device(preference: str = "auto") -> str:
    """``"auto"``: the first CUDA device if torch sees one, else ``"cpu"``; others are checked.

    >>> resolve_device("cpu")
    'cpu'
    """
    import torch

    if preference == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if preference == "cpu":
        return "cpu"
    if preference.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InvalidInput(f"device {preference!r} requested but torch sees no CUDA device")
        index = int(preference.split(":", 1)[1]) if ":" in preference else 0
        if index >= torch.cuda.device_count():
            raise InvalidInput(f"device {preference!r} does not exist ({torch.cuda.device_count()} CUDA devices)")
        return preference
    raise InvalidInput(f"unknown device {preference!r}; use auto, cpu, cuda or cuda:N")
