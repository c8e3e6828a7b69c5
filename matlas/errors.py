"""Typed errors of the platform; the CLI and the HTTP API translate them once, at their boundary."""

from __future__ import annotations


class MatlasError(Exception):
    """Base of every error matlas raises on purpose; ``str(err)`` is a message for people."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(MatlasError, ValueError):
    """Bad input from a caller: the message quotes the value and what is allowed."""

    status_code = 422


class IndexNotFound(MatlasError, LookupError):
    """An index name or directory that does not hold a built index."""

    status_code = 404


class UpstreamError(MatlasError):
    """A service matlas depends on (Materials Project, an LLM endpoint, Redis) failed."""

    status_code = 502


class SessionNotFound(MatlasError, LookupError):
    """A chat session id that no session store holds."""

    status_code = 404


class Unavailable(UpstreamError):
    """A service matlas needs is not configured or not reachable now (retry later)."""

    status_code = 503


class MaterialNotFound(MatlasError, LookupError):
    """A well-formed material id that the Materials Project source (live or snapshot) does not hold."""

    status_code = 404


class ArtifactNotFound(MatlasError, LookupError):
    """An artifact handle that the named chat session does not hold."""

    status_code = 404


class TaskNotFound(MatlasError, LookupError):
    """A task id that no task store holds (or no task store is configured)."""

    status_code = 404


class Forbidden(MatlasError, PermissionError):
    """The caller's key may not do this (a read key asking for an admin operation)."""

    status_code = 403


class RateLimited(MatlasError):
    """Too many requests of one key in the current window; retry after ``retry_after_s`` seconds."""

    status_code = 429

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def __reduce__(self):  # pickle with both arguments
        return (type(self), (self.message, self.retry_after_s))


class Busy(Unavailable):
    """Every slot of a capped resource (chat turns, generations) is taken; retry after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def __reduce__(self):
        return (type(self), (self.message, self.retry_after_s))
