"""API keys: hashed at rest (``name:scope:sha256hex``), checked in constant time, never kept in clear.

A deployment lists its keys in ``MATLAS_API_KEYS`` (entries separated by commas or white space);
``matlas keys create`` makes a token and the entry to add. A request presents the token as
``Authorization: Bearer <token>``; its SHA-256 is compared with every stored digest by
``hmac.compare_digest`` (no early exit, so timing tells nothing about which key or prefix matched).

>>> token, entry = new_key("ci", "read")
>>> ring = KeyRing.parse(entry)
>>> ring.authenticate(token)
Principal(name='ci', scope='read')
>>> ring.authenticate(token + "x") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["LOCAL", "SCOPES", "ApiKey", "KeyRing", "Principal", "Scope", "digest", "new_key"]

Scope = Literal["read", "admin"]
SCOPES: tuple[str, ...] = get_args(Scope)
KEY_NAME = r"[A-Za-z0-9_.-]{1,64}"
TOKEN_PREFIX = "mtl_"
_ENTRY = re.compile(rf"(?P<name>{KEY_NAME}):(?P<scope>[a-z]+):(?P<digest>[0-9a-fA-F]{{64}})")


@dataclass(frozen=True)
class Principal:
    """Who is asking: a key's name and scope (``local`` with admin scope when no key is configured)."""

    name: str
    scope: Scope

    @property
    def is_admin(self) -> bool:
        return self.scope == "admin"


LOCAL = Principal("local", "admin")


@dataclass(frozen=True)
class ApiKey:
    """One configured key: its name, scope and the SHA-256 (hex) of its token."""

    name: str
    scope: Scope
    sha256: str

    def __repr__(self) -> str:  # the digest stays out of logs and tracebacks
        return f"ApiKey(name={self.name!r}, scope={self.scope!r})"


def digest(token: str) -> str:
    """The SHA-256 of ``token`` as 64 lower-case hex digits (what ``MATLAS_API_KEYS`` stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_key(name: str, scope: str) -> tuple[str, str]:
    """A fresh random token (``mtl_`` and 43 url-safe characters) and its ``name:scope:sha256hex`` entry."""
    if not re.fullmatch(KEY_NAME, name) or name == LOCAL.name:
        raise ValueError(f"invalid key name {name[:80]!r}: use 1 to 64 letters, digits, '.', '-' and '_' "
                         f"(not {LOCAL.name!r}, the keyless user)")
    if scope not in SCOPES:
        raise ValueError(f"invalid scope {scope!r}; choose one of {list(SCOPES)}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, f"{name}:{scope}:{digest(token)}"


class KeyRing:
    """The configured keys; empty means the server runs keyless (loopback only, as the local user)."""

    def __init__(self, keys: list[ApiKey]) -> None:
        names = [k.name for k in keys]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"API key names must be unique; repeated: {dup}")
        self.keys = tuple(keys)

    @classmethod
    def parse(cls, text: str | None) -> KeyRing:
        """Keys from ``name:scope:sha256hex`` entries separated by commas or white space.

        A malformed entry raises ``ValueError`` naming its position (never its text, which may be a token).
        """
        keys = []
        for i, entry in enumerate(e for e in re.split(r"[,\s]+", text or "") if e):
            match = _ENTRY.fullmatch(entry)
            if match is None:
                raise ValueError(f"API key entry {i + 1} is not name:scope:sha256hex "
                                 "(make one with `matlas keys create`)")
            if match["name"] == LOCAL.name:
                raise ValueError(f"API key entry {i + 1} is named {LOCAL.name!r}, the keyless user's name; rename it")
            if match["scope"] not in SCOPES:
                raise ValueError(f"API key {match['name']!r} has scope {match['scope']!r}; use one of {list(SCOPES)}")
            keys.append(ApiKey(match["name"], match["scope"], match["digest"].lower()))
        return cls(keys)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def names(self) -> list[str]:
        return [k.name for k in self.keys]

    def authenticate(self, token: str | None) -> Principal | None:
        """The principal whose key ``token`` is, or None; compares against every key in constant time."""
        if not token:
            return None
        presented = digest(token).encode("ascii")
        found = None
        for key in self.keys:
            if hmac.compare_digest(presented, key.sha256.encode("ascii")):
                found = key
        return Principal(found.name, found.scope) if found is not None else None
