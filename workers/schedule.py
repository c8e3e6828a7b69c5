"""The beat schedule: every ``settings.rebuild_every_s`` seconds, rebuild each of ``settings.rebuild_indexes``."""

from __future__ import annotations

from typing import Any

from matlas.settings import Settings

__all__ = ["REBUILD_TASK", "beat_schedule"]

REBUILD_TASK = "workers.index_tasks.rebuild_index"


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Celery ``beat_schedule`` entries, one per index; a run not started within a period expires."""
    return {
        f"rebuild-{name}": {
            "task": REBUILD_TASK,
            "schedule": settings.rebuild_every_s,
            "kwargs": {"name": name},
            "options": {"expires": settings.rebuild_every_s},  # no backlog after a worker outage
        }
        for name in settings.rebuild_indexes
    }
