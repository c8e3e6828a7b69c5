"""OpenMP's wait policy: idle torch threads sleep (``matlas/__init__.py``), set before the entry points
(CLI and server, Celery app, hosted LLM, agent eval) load torch's OpenMP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Records the policy in force when torch is first imported, then imports the module named on the command line.
PROBE = """
import builtins, importlib, os, sys
seen, real = {}, builtins.__import__
def spy(name, *args, **kwargs):
    if name.partition(".")[0] == "torch" and "torch" not in seen:
        seen["torch"] = os.environ.get("OMP_WAIT_POLICY")
    return real(name, *args, **kwargs)
builtins.__import__ = spy
importlib.import_module(sys.argv[1])
import torch
print(seen["torch"])
"""


def _policy_at_torch_import(module: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | {"PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", PROBE, module], env=base | env, capture_output=True, text=True,
                         cwd=ROOT, timeout=300, check=True)
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("module", ["matlas.cli", "workers.app", "workers.hosting", "bench.agent_eval"])
def test_torch_loads_with_the_passive_policy(module):
    assert _policy_at_torch_import(module) == "PASSIVE"


def test_a_policy_in_the_environment_wins():
    assert _policy_at_torch_import("workers.hosting", OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"
