"""Who may do what, and how much: API keys and scopes (``keys``), rate limits (``rate``)."""

from matlas.security.keys import LOCAL, ApiKey, KeyRing, Principal, new_key

__all__ = ["LOCAL", "ApiKey", "KeyRing", "Principal", "new_key"]
