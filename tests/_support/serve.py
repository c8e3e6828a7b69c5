"""``matlas serve`` as a real process on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests._support.redis_server import free_port

_CLEARED = ("MP_API_KEY", "OPENAI_API_KEY", "MATLAS_API_KEYS", "MATLAS_ALLOW_INSECURE")


@dataclass
class Served:
    """A running server: its base URL, process and the file of everything it printed."""

    base: str
    process: subprocess.Popen
    log: Path
    printed: str | None = None  # everything, once the process has stopped

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        """What the process printed so far (stdout and stderr)."""
        return self.printed if self.printed is not None else self.log.read_text(errors="replace")


def serve_env(env: dict[str, str]) -> dict[str, str]:
    """This environment without API keys (the server's own included), offline, with ``env`` added."""
    # a test server does not load the local chat model at start (tests that chat with it load it on first use)
    return {k: v for k, v in os.environ.items() if k not in _CLEARED} | {"HF_HUB_OFFLINE": "1",
                                                                          "MATLAS_WARM_LLM": "false", **env}


@contextmanager
def serve_process(env: dict[str, str], *args: str, timeout_s: float = 600) -> Iterator[Served]:
    """A ``matlas serve`` process (``--no-build-default`` and ``args``) with ``env`` added to this
    environment (API keys removed); stopped with SIGTERM afterwards."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="matlas-serve-") as folder:
        log = Path(folder) / "output.txt"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "matlas", "serve", "--port", str(port), "--no-build-default", *args],
                env=serve_env(env), stdout=out, stderr=subprocess.STDOUT, text=True)
        served = Served(f"http://127.0.0.1:{port}", proc, log)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    if httpx.get(f"{served.base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, served.output()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.5)
            yield served
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            served.printed = served.output()
