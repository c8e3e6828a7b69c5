"""Structure export: ``GET /v1/materials/{mp_id}/structure`` and ``GET /v1/sessions/{id}/artifacts/{handle}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from agents.sessions import ChatService
from matlas.api.auth import ReaderDep
from matlas.api.deps import SettingsDep
from matlas.materials import (
    ExportFormat,
    StructureFile,
    artifact_file,
    get_material,
    material_file,
    session_artifacts,
)

__all__ = ["router"]

router = APIRouter(tags=["materials"])

FormatQuery = Annotated[ExportFormat, Query(description="cif | poscar | json (pymatgen Structure.as_dict).")]
_ERRORS = {
    404: {"description": "Unknown material, session or artifact (the reason in `detail`)."},
    422: {"description": "Malformed id or handle, or a format not offered (the reason in `detail`)."},
    502: {"description": "The Materials Project source failed."},
}
_FILE = {200: {"description": "The structure file.", "content": {
    "chemical/x-cif": {}, "text/plain": {}, "application/json": {}}}}


def _chat(request: Request) -> ChatService:
    return request.app.state.chat


def _download(file: StructureFile) -> Response:
    return Response(file.text, media_type=file.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{file.filename}"'})


@router.get("/materials/{mp_id}/structure", response_class=Response, responses={**_FILE, **_ERRORS})
def material_structure(mp_id: str, settings: SettingsDep, format: FormatQuery = "cif") -> Response:
    """A material's structure as CIF, POSCAR or pymatgen JSON, with its provenance in the file."""
    return _download(material_file(get_material(settings, mp_id), format))


@router.get("/sessions/{session_id}/artifacts/{handle:path}", response_class=Response,
            responses={**_FILE, **_ERRORS})
def session_artifact(
    session_id: str, handle: str, settings: SettingsDep, chat: Annotated[ChatService, Depends(_chat)],
    caller: ReaderDep, format: FormatQuery = "cif",
) -> Response:
    """A structure an agent derived in a session (``artifact://structure/<hex>`` or the hex digits), with what
    was done to it and whether it was relaxed (never: derived cells are geometric estimates)."""
    chat.session(session_id, caller.name)  # 404 for an unknown (or another key's) session, before any file is touched
    return _download(artifact_file(session_artifacts(settings, session_id), handle, format))
