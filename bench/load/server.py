"""A real ``matlas serve`` process on a loopback port, its readiness, memory and shutdown."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from tests._support.redis_server import free_port

__all__ = ["Server", "server_env"]

# settings the bench passes to every server it starts: no rate limit and room for every concurrent
# chat turn, so that it measures the service and not its throttle (the names of issue 14's limits;
# a server without them ignores them, as Settings ignores unknown MATLAS_ variables)
LIMITS_OFF = {"MATLAS_RATE_LIMIT_SEARCH": "none", "MATLAS_RATE_LIMIT_CHAT": "none",
              "MATLAS_MAX_CONCURRENT_CHATS": "1024", "MATLAS_MAX_CONCURRENT_GENERATIONS": "1024"}


def server_env(home: Path, *, llm_url: str | None = None, redis_url: str | None = None,
               extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a bench server: this one without remote keys, HOME set, offline, limits off."""
    env = {k: v for k, v in os.environ.items() if k not in ("MP_API_KEY", "OPENAI_API_KEY", "MATLAS_LLM_API_KEY")}
    env |= {"MATLAS_HOME": str(home), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **LIMITS_OFF}
    if llm_url:
        env |= {"MATLAS_LLM_BACKEND": "openai", "MATLAS_LLM_BASE_URL": f"{llm_url}/v1", "MATLAS_LLM_MODEL": "scripted",
                "MATLAS_LLM_API_KEY": "bench-scripted"}
    if redis_url:
        env |= {"MATLAS_SESSIONS_BACKEND": "redis", "MATLAS_REDIS_URL": redis_url}
    return env | (extra or {})


@dataclass
class Server:
    """``matlas serve --workers N`` on a free loopback port; ``start()`` returns once every worker is warm."""

    env: dict[str, str]
    workers: int = 1
    port: int = field(default_factory=free_port)
    lines: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 600) -> Server:
        """Start the process and wait for ``workers`` ``warm:`` lines and an answering ``/healthz``."""
        cmd = [sys.executable, "-m", "matlas", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     cwd=Path(__file__).resolve().parents[2])
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout_s
        try:
            while sum("warm:" in line for line in self.lines) < self.workers or not self._healthy():
                if self.proc.poll() is not None:
                    raise RuntimeError("matlas serve exited:\n" + "".join(self.lines[-40:]))
                if time.monotonic() > deadline:
                    raise RuntimeError(f"matlas serve was not ready in {timeout_s:.0f} s:\n" + "".join(self.lines[-40:]))
                time.sleep(0.25)
        except BaseException:  # a timeout or Ctrl-C: leave no server behind
            self.stop()
            raise
        return self

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def rss_bytes(self) -> int:
        """Resident memory of the server's process tree (supervisor, workers, analysis children)."""
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 30 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                child.kill()
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> Server:
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
