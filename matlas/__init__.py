"""matlas: retrieval and agent services for materials science (the shell: settings, CLI, HTTP API)."""

from matlas.errors import IndexNotFound, InvalidInput, MatlasError, UpstreamError

__version__ = "0.1.0"
__all__ = ["IndexNotFound", "InvalidInput", "MatlasError", "UpstreamError", "__version__"]
