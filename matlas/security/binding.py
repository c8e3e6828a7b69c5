"""Where a server may listen: without API keys only on loopback, unless insecure serving is allowed."""

from __future__ import annotations

import ipaddress

from matlas.errors import InvalidInput

__all__ = ["check_binding", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``.

    >>> [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "192.168.1.2", "example.org")]
    [True, True, True, False, False, False]
    """
    if host.strip("[]").lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name may resolve anywhere


def check_binding(host: str, *, keyed: bool, allow_insecure: bool) -> str:
    """One line saying how the server is protected; ``InvalidInput`` for a keyless non-loopback address
    unless ``allow_insecure``."""
    if keyed:
        return f"API keys required on {host} (open: /healthz, /docs, /login)"
    if is_loopback(host):
        return (f"no API key configured: listening on loopback ({host}) only, every request acts as the "
                "local user; set MATLAS_API_KEYS (`matlas keys create`) to serve other machines")
    if not allow_insecure:
        raise InvalidInput(
            f"refusing to serve {host} without API keys: anyone who can reach it could read every session and "
            "rebuild indexes. Set MATLAS_API_KEYS (make a key with `matlas keys create --name NAME --scope admin`), "
            "bind 127.0.0.1, or pass --allow-insecure (MATLAS_ALLOW_INSECURE=1) to serve it open anyway")
    return f"WARNING: serving {host} WITHOUT API keys (--allow-insecure): anyone who can reach it is admin"
