"""Functions for ``IsolatedCalls`` tests: children import them by module name."""

from __future__ import annotations

import os
import signal
import time

from matlas.errors import InvalidInput


def behave(how: str, value: int = 0) -> int:
    """Return ``value + 1``, or crash (SIGSEGV), hang, raise a typed or a foreign error, or say the pid."""
    if how == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if how == "hang":
        time.sleep(60)
    if how == "invalid":
        raise InvalidInput(f"bad value {value}")
    if how == "bug":
        raise KeyError("oops")
    if how == "pid":
        return os.getpid()
    return value + 1
