"""Materials Project data: the SQLite snapshot, its MP-protocol server, the mp-api client factory.

Names load on first use, so reading a snapshot does not import the (slow to import) mp-api client.
"""

from importlib import import_module

__all__ = ["Snapshot", "create_mp_app", "open_rester", "serve_snapshot", "sync_materials"]

_HOMES = {
    "Snapshot": "snapshot",
    "create_mp_app": "server",
    "serve_snapshot": "server",
    "open_rester": "client",
    "sync_materials": "sync",
}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(f"agents.mp.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'agents.mp' has no attribute {name!r}")
