"""``matlas serve`` as a real process on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests._support.redis_server import free_port


def clean_env(env: dict[str, str]) -> dict[str, str]:
    """This process's environment without MP/OpenAI keys, offline, plus ``env``."""
    base = {k: v for k, v in os.environ.items() if k not in ("MP_API_KEY", "OPENAI_API_KEY")}
    return base | {"HF_HUB_OFFLINE": "1", **env}


@contextmanager
def matlas_serve(env: dict[str, str], *, timeout_s: float = 120) -> Iterator[str]:
    """A ``matlas serve`` process on a free port; yields its base URL, stops it (SIGTERM) afterwards."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "matlas", "serve", "--port", str(port), "--no-build-default"],
                            env=clean_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
