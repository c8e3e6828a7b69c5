"""``POST /v1/indexes/{name}/rebuild`` and ``GET /v1/tasks/{task_id}``: work for the Celery workers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from matlas.api.deps import ServiceDep, SettingsDep
from workers.submit import TaskInfo, submit_rebuild, task_info

router = APIRouter(tags=["tasks"])

_UNAVAILABLE = {503: {"description": "The task queue (Redis) cannot be reached; retry later."}}
TaskId = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,64}$", description="Task id from a submission.")]


@router.post("/indexes/{name}/rebuild", response_model=TaskInfo, status_code=202, responses=_UNAVAILABLE)
def rebuild(name: str, response: Response, service: ServiceDep, settings: SettingsDep) -> TaskInfo:
    """Rebuild an index from its recorded corpus: 202 with a task id when a broker is set, else 200 with the report."""
    info = submit_rebuild(settings, name, load_encoder=service.encoder)
    if info.state == "SUCCESS":
        response.status_code = 200
    return info


@router.get("/tasks/{task_id}", response_model=TaskInfo, responses=_UNAVAILABLE)
def get_task(task_id: TaskId, settings: SettingsDep) -> TaskInfo:
    """Where a submitted task stands (PENDING also for ids the result store does not know)."""
    return task_info(settings, task_id)
