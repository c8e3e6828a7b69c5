"""``matlas serve`` as a real process on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from tests._support.redis_server import free_port

_CLEARED = ("MP_API_KEY", "OPENAI_API_KEY", "MATLAS_API_KEYS", "MATLAS_ALLOW_INSECURE")


@dataclass
class Served:
    """A running server: its base URL, process and (after it stopped) everything it printed."""

    base: str
    process: subprocess.Popen

    def alive(self) -> bool:
        return self.process.poll() is None


@contextmanager
def serve_process(env: dict[str, str], *args: str, timeout_s: float = 180) -> Iterator[Served]:
    """A ``matlas serve`` process (``--no-build-default`` and ``args``) with ``env`` added to this
    environment (API keys, the server's own included, removed); stopped with SIGTERM afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED} | {
        "HF_HUB_OFFLINE": "1", **env}
    proc = subprocess.Popen([sys.executable, "-m", "matlas", "serve", "--port", str(port), "--no-build-default", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
        yield Served(base, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
