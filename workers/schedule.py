"""The beat schedule: every ``every_s`` seconds, rebuild each of the configured indexes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workers.queues import REBUILD_TASK

__all__ = ["REBUILD_TASK", "beat_schedule"]


def beat_schedule(indexes: Sequence[str], every_s: float) -> dict[str, dict[str, Any]]:
    """Celery ``beat_schedule`` entries, one per index; a run not started within a period expires."""
    return {
        f"rebuild-{name}": {
            "task": REBUILD_TASK,
            "schedule": every_s,
            "kwargs": {"name": name},
            "options": {"expires": every_s},  # no backlog after a worker outage
        }
        for name in indexes
    }
