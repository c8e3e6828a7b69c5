"""``POST /v1/indexes/{name}/rebuild`` and ``GET /v1/tasks/{task_id}``: work for the Celery workers (admin keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from matlas import wiring
from matlas.api.deps import CatalogDep, EncodersDep, SettingsDep
from matlas.api.errors import responses
from matlas.errors import TaskNotFound
from retrieval.catalog import INDEX_NAME
from workers.queues import TaskInfo

router = APIRouter(tags=["tasks"])

TaskId = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,64}$", description="Task id from a submission.")]
NamePath = Annotated[str, Path(pattern=f"^{INDEX_NAME}$", description="Index name.")]


@router.post("/indexes/{name}/rebuild", response_model=TaskInfo, status_code=202,
             responses={200: {"model": TaskInfo, "description": "Without a broker: rebuilt here, with its report."},
                        **responses(404, 422, 503)})
def rebuild(name: NamePath, response: Response, encoders: EncodersDep, catalog: CatalogDep,
            settings: SettingsDep) -> TaskInfo:
    """Rebuild a muvera index from its recorded corpus: 202 with a task id when a broker is set,
    else 200 with the report. Crossmodal indexes are refitted with ``matlas hash fit`` (422 here)."""
    if (catalog.indexes_dir / name / "CURRENT").is_file():
        catalog.require(name, "muvera")
    info = wiring.submit_rebuild(settings, name, load_encoder=encoders.get)
    if info.state == "SUCCESS":
        response.status_code = 200
    return info


@router.get("/tasks/{task_id}", response_model=TaskInfo, responses=responses(404, 422, 503))
def get_task(task_id: TaskId, settings: SettingsDep) -> TaskInfo:
    """Where a submitted task stands (PENDING also for ids the result store does not know).

    Without a task broker (``MATLAS_BROKER_URL``) no task is stored, since rebuilds run in the
    request that asks for them: 404.
    """
    if not settings.broker_url:
        raise TaskNotFound("no task queue is configured (MATLAS_BROKER_URL): tasks run in the request "
                            "that submits them and no task is stored")
    return wiring.task_info(settings, task_id)
