"""Helpers of the work-engine tests: a real worker subprocess, corpus files, waiting for tasks."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class WorkerProcess:
    """``matlas worker`` in its own process group, so a SIGKILL takes its pool processes too."""

    def __init__(self, env: dict[str, str], queues: list[str], log: Path) -> None:
        self.env, self.queues, self.log = env, queues, log
        self.proc: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout_s: float = 180) -> None:
        """Start the worker and wait until it is ready to consume (its pool has loaded the encoder)."""
        queues = [arg for q in self.queues for arg in ("-Q", q)]
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "matlas", "worker", *queues, "-c", "1", "-l", "info"],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while " ready." not in self.log.read_text(errors="replace")[offset:]:
            assert self.running, f"worker exited:\n{self.log.read_text(errors='replace')[offset:]}"
            assert time.monotonic() < deadline, "worker did not become ready"
            time.sleep(0.2)

    def ensure_started(self) -> None:
        if not self.running:
            self.start()

    def kill(self) -> None:
        """SIGKILL the whole worker (a machine crash: no cleanup runs)."""
        if self.running:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), killing it if it hangs."""
        if self.running:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


NEW_DOC = {"_id": "mapbi3", "title": "Methylammonium lead iodide",
           "text": "CH3NH3PbI3 is a hybrid halide perovskite absorber of thin-film solar cells."}


def write_corpus(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _finished(info) -> bool:
    return info.state in ("SUCCESS", "FAILURE")


def wait_for_task(settings, task_id: str, until=_finished, timeout_s: float = 120):
    """Poll ``task_info`` until ``until(info)``; the last ``TaskInfo``."""
    from matlas.wiring import task_info

    deadline = time.monotonic() + timeout_s
    while not until(info := task_info(settings, task_id)):
        assert time.monotonic() < deadline, f"task {task_id} still {info}"
        time.sleep(0.1)
    return info


@contextlib.contextmanager
def holding_publish(root):
    """Hold the index root's writer ``flock`` (``IndexRoot.new_version``): a rebuild stalls before it publishes."""
    with open(root.path / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
