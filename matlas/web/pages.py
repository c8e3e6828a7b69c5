"""The web app's pages: chat (streamed over server-sent events), search, cross-modal search, materials.

Pages render Jinja2 templates; htmx requests (``HX-Request``) get the fragment they swap in. They
call the same services as the JSON API (``app.state.chat``, ``app.state.search``) and the same
``matlas.materials`` functions as structure export, and show a ``MatlasError`` as a page or a
fragment with its status code and reason.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, format_sse_event

from agents.chat import ChatEvent
from agents.sessions import ChatService
from matlas.api.auth import principal_of
from matlas.api.routes.search import check_exact
from matlas.errors import InvalidInput, MatlasError, SessionNotFound
from matlas.materials import get_material, material_recipes
from matlas.security.keys import LOCAL
from matlas.web.render import templates
from retrieval.search import MODES
from retrieval.structures import parse_structure

__all__ = ["CROSSMODAL_INDEX", "router"]

router = APIRouter(include_in_schema=False)
CROSSMODAL_INDEX = "crossmodal"
MAX_PENDING_TURNS = 256
MAX_UPLOAD_BYTES = 2_000_000
_pending: OrderedDict[str, tuple[str, str, Iterator[ChatEvent]]] = OrderedDict()  # turn -> owner, session, events
_pending_lock = threading.Lock()


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _failed(request: Request, err: MatlasError) -> HTMLResponse:
    """A ``MatlasError`` as an error fragment (htmx) or page, with its status code."""
    if request.headers.get("HX-Request"):
        return HTMLResponse(f'<p class="mark ungrounded error" role="alert">{_escape(str(err))}</p>',
                            status_code=err.status_code)
    return _page(request, "error.html", err.status_code, status=err.status_code, detail=str(err))


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def _chat(request: Request) -> ChatService:
    return request.app.state.chat


def _owner(request: Request) -> str:
    """Whose sessions the page shows: the signed-in key's name (``local`` on a keyless server)."""
    return (principal_of(request) or LOCAL).name


def _count(request: Request, group: str) -> None:
    """Count a search or chat against the caller's rate limit (``RateLimited`` past it)."""
    request.app.state.rate_limits.hit(group, _owner(request))


# ---- chat -------------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def chat_page(request: Request) -> HTMLResponse:
    """A new conversation, with the session list."""
    return _page(request, "chat.html", nav="chat", session=None, sessions=_chat(request).sessions(_owner(request), 50))


@router.get("/chat/{session_id}", response_class=HTMLResponse)
def session_page(request: Request, session_id: str) -> HTMLResponse:
    """A stored conversation: its turns with their tool steps, citations and grounding marks."""
    service, owner = _chat(request), _owner(request)
    try:
        session = service.session(session_id, owner)
    except SessionNotFound as err:
        return _failed(request, err)
    return _page(request, "chat.html", nav="chat", session=session, sessions=service.sessions(owner, 50))


@router.post("/chat/send", response_class=HTMLResponse)
def send(request: Request, message: Annotated[str, Form(max_length=8000)] = "",
         session_id: Annotated[str, Form()] = "") -> HTMLResponse:
    """Start a turn: the user's message and an assistant turn that streams from ``/chat/turns/{id}/events``."""
    if not message.strip():
        return _failed(request, InvalidInput("the message is empty; type a question"))
    service, owner = _chat(request), _owner(request)
    try:
        _count(request, "chat")
        session, events = service.start(session_id or None, message, owner)
    except MatlasError as err:
        return _failed(request, err)
    turn_id = uuid.uuid4().hex
    with _pending_lock:
        _pending[turn_id] = (owner, session.id, events)
        while len(_pending) > MAX_PENDING_TURNS:
            _pending.popitem(last=False)[1][2].close()  # a turn never streamed gives its slot back
    response = _page(request, "_pending.html", message=message, turn_id=turn_id, session_id=session.id,
                     session=session, sessions=service.sessions(owner, 50))
    response.headers["HX-Push-Url"] = f"/chat/{session.id}"
    return response


@router.get("/chat/turns/{turn_id}/events")
def turn_events(request: Request, turn_id: str) -> Response:
    """The turn's events as HTML fragments: ``step``, ``token``, ``answer`` or ``error``, then ``done``."""
    with _pending_lock:
        if turn_id in _pending and _pending[turn_id][0] == _owner(request):
            pending = _pending.pop(turn_id)
        else:
            pending = None
    if pending is None:
        return Response("unknown or already streamed turn", status_code=404, media_type="text/plain")
    return EventSourceResponse(_fragments(request, *pending[1:]), headers={"Cache-Control": "no-cache"})


def _fragments(request: Request, session_id: str, events: Iterator[ChatEvent]) -> Iterator[bytes]:
    render = templates.get_template
    for event in events:
        if event.event == "token":
            html = f"<span>{_escape(event.data.get('text', ''))}</span>"
            name = "token"
        elif event.event in ("route", "tool_call", "tool_result"):
            html, name = render("_step.html").render(event=event.event, data=event.data), "step"
        elif event.event == "repair":  # the draft failed the grounding check: the model gets one more try
            problems = "; ".join(event.data.get("problems", []))
            html, name = f'<li class="step step-repair"><span class="tag">repair</span> {_escape(problems)}</li>', "step"
        elif event.event == "answer":
            html, name = render("_answer.html").render(answer=event.data), "answer"
        else:
            detail = event.data.get("detail", "the turn failed")
            html, name = f'<p class="mark ungrounded error" role="alert">{_escape(detail)}</p>', "error"
        yield format_sse_event(event=name, data_str=html)
    yield format_sse_event(event="done", data_str=session_id)


@router.delete("/chat/{session_id}", response_class=HTMLResponse)
def delete_session(request: Request, session_id: str) -> HTMLResponse:
    """Delete a session; answers the new session list (and sends the browser home if it was showing it)."""
    service, owner = _chat(request), _owner(request)
    try:
        service.delete(session_id, owner)
    except SessionNotFound as err:
        return _failed(request, err)
    response = _page(request, "_sessions.html", sessions=service.sessions(owner, 50), session=None)
    if request.headers.get("HX-Current-URL", "").rstrip("/").endswith(f"/chat/{session_id}"):
        response.headers["HX-Redirect"] = "/"
    return response


# ---- search -----------------------------------------------------------------------------------------


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request, query: str = "", mode: str = "muvera", index: str = "", k: Annotated[int, Query(ge=1, le=100)] = 10,
    tab: str = "text",
) -> HTMLResponse:
    """Document search (modes and indexes to choose from) or the cross-modal tab."""
    service, settings = request.app.state.search, request.app.state.settings
    indexes = [entry.name for entry in service.catalog.entries("muvera")]
    form = {"query": query, "mode": mode, "index": index or settings.default_index, "k": k}
    result, error = None, None
    if query.strip():
        try:
            if mode not in MODES:
                raise InvalidInput(f"unknown mode {mode!r}; use one of {list(MODES)}")
            _count(request, "search")
            searcher = service.searcher(form["index"])
            check_exact(principal_of(request) or LOCAL, mode, form["index"], searcher.index.manifest.documents,
                        settings.exact_max_documents)
            start = time.perf_counter()
            hits = searcher.search(query, k, mode=mode)
            result = {"index": form["index"], "version": searcher.index.manifest.version, "mode": mode,
                      "took_ms": (time.perf_counter() - start) * 1000, "hits": hits}
        except MatlasError as err:
            if not request.headers.get("HX-Request"):
                return _failed(request, err)
            error = str(err)
    if request.headers.get("HX-Request") and query:
        return _page(request, "_hits.html", result=result, error=error)
    return _page(request, "search.html", nav="search", tab="crossmodal" if tab == "crossmodal" else "text",
                 modes=MODES, indexes=indexes, form=form, result=result, error=error)


@router.get("/search/crossmodal", response_class=HTMLResponse)
def crossmodal_text(request: Request, text: str = "", k: Annotated[int, Query(ge=1, le=50)] = 10) -> HTMLResponse:
    """Structures for a description (fragment)."""
    try:
        if not text.strip():
            raise InvalidInput("describe a material first")
        _count(request, "search")
        searcher = _crossmodal(request)
        groups = [("Structures for the description", searcher.search(text=text, k=k))]
    except MatlasError as err:
        return _failed(request, err)
    return _page(request, "_xhits.html", groups=groups)


@router.post("/search/crossmodal", response_class=HTMLResponse)
async def crossmodal_structure(
    request: Request, file: Annotated[UploadFile, File()], k: Annotated[int, Form(ge=1, le=50)] = 10,
) -> HTMLResponse:
    """Texts for an uploaded CIF or POSCAR, and the structures nearest to it (fragment)."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    try:
        if len(data) > MAX_UPLOAD_BYTES:
            raise InvalidInput(f"the file is larger than {MAX_UPLOAD_BYTES} bytes")
        _count(request, "search")
        structure = _uploaded_structure(file.filename or "", data.decode("utf-8", errors="replace"))
        searcher, x = _crossmodal(request), _features(request, structure)
        groups = [(f"Texts for {structure.composition.reduced_formula}", searcher.search_features(x, "structure", k)),
                  ("Similar structures", searcher.similar_features(x, k=k))]
    except MatlasError as err:
        return _failed(request, err)
    return _page(request, "_xhits.html", groups=groups)


def _uploaded_structure(filename: str, text: str):
    """A structure from CIF, POSCAR or pymatgen JSON text (the format guessed from the content)."""
    if not text.strip():
        raise InvalidInput("the uploaded file is empty")
    lowered = filename.lower()
    if lowered.endswith(".cif") or "_cell_length_a" in text or text.lstrip().startswith("{"):
        return parse_structure(text if "\n" in text else text + "\n")
    from pymatgen.io.vasp import Poscar

    try:
        return Poscar.from_str(text).structure
    except Exception as err:  # noqa: BLE001 - pymatgen raises many types on a bad POSCAR
        raise InvalidInput(f"{filename or 'the file'} is neither CIF, POSCAR nor pymatgen JSON: "
                           f"{str(err)[:160] or type(err).__name__}") from None


def _crossmodal(request: Request):
    return request.app.state.crossmodal.searcher(CROSSMODAL_INDEX)


def _features(request: Request, structure):
    """Structure features computed by the app's isolated analysers (native code never runs in the server)."""
    return request.app.state.crossmodal.featurise(structure.as_dict())


# ---- materials --------------------------------------------------------------------------------------


@router.get("/materials/{mp_id}", response_class=HTMLResponse)
def material_page(request: Request, mp_id: str) -> HTMLResponse:
    """Properties with units and provenance, the 3D viewer, downloads, similar structures and recipes."""
    settings = request.app.state.settings
    try:
        material = get_material(settings, mp_id)
        recipes = material_recipes(settings, material)
    except MatlasError as err:
        return _failed(request, err)
    similar, note = None, ""
    try:
        hits = _crossmodal(request).similar_features(_features(request, material.structure), k=7)
        similar = [h for h in hits if (h.material_id or h.id) != material.material_id][:6]
    except MatlasError as err:
        note = f"No cross-modal hash index to compare structures with ({err})."
    return _page(request, "material.html", nav=None, m=material, recipes=recipes, similar=similar,
                 similar_note=note)
