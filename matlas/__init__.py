"""matlas: retrieval and agent services for materials science (the shell: settings, CLI, HTTP API)."""

import os

# Idle OpenMP threads sleep instead of spinning. On a shared CPU a spinning torch thread pool waits at
# every barrier for peers the scheduler preempted: SmolLM2-135M's 100-token prefill took 30 s instead
# of 3 s on 2 cores at load 12. OpenMP reads this once, when torch loads it, so it is set before any
# matlas module imports torch; a value in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from matlas.errors import IndexNotFound, InvalidInput, MatlasError, UpstreamError

__version__ = "0.1.0"
__all__ = ["IndexNotFound", "InvalidInput", "MatlasError", "UpstreamError", "__version__"]
