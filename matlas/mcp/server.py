"""The matlas MCP server (official ``mcp`` SDK, ``FastMCP``): retrieval, cross-modal search, the agents'
typed Materials Project tools, structure export, a grounded ``ask``, and MP-MCP-compatible
``search`` / ``fetch`` / ``fetch_many`` / ``get_phase_diagram_from_elements``.

Every tool calls the same services and functions as the HTTP API; a ``MatlasError`` (bad input, an
unknown id or index, MP failing) comes back as a tool error (``isError``) carrying its message.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Annotated, Any

import anyio
from langchain_core.tools import BaseTool
from langchain_mcp_adapters.tools import to_fastmcp
from mcp.server.fastmcp import Context, FastMCP
from pydantic import Field

import matlas
from agents.artifacts import ArtifactStore
from agents.sessions import ChatService
from agents.tools import expert_tools
from matlas import wiring
from matlas.api.auth import PRINCIPAL
from matlas.api.routes.search import check_exact
from matlas.errors import InvalidInput
from matlas.materials import ExportFormat, Material, artifact_file, get_material, material_file
from matlas.mcp.phase_diagram import phase_diagram
from matlas.security.keys import LOCAL, Principal
from matlas.security.rate import RateLimits
from matlas.settings import Settings
from retrieval.search import MAX_K, SearchMode
from retrieval.service import CrossModalService, SearchService

__all__ = ["CROSSMODAL_INDEX", "MCP_SESSION", "build_server"]

CROSSMODAL_INDEX = "crossmodal"
MCP_SESSION = "mcp"  # artifact folder of structures derived through MCP tools
MAX_FETCH = 100
INSTRUCTIONS = """matlas: Materials Project data and the platform's own indexes.
Use `search` (formula, chemical system or comma-separated keywords) then `fetch`/`fetch_many` for
materials; `retrieval_search` for documents; the typed tools (search_materials, get_thermo,
get_elasticity, ...) for filtered MP queries; `get_structure` and the structure tools return handles
that `export_structure` writes as CIF/POSCAR/JSON; `ask` runs one grounded agent turn with citations."""
MCP_ONLY_EXPERTS = ("summary", "thermo", "elasticity", "electronic", "magnetism", "synthesis", "structure")


def _threaded(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` (blocking: models, MP requests) as a coroutine run in a worker thread, same signature."""

    @functools.wraps(func)
    async def run(**kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(functools.partial(func, **kwargs))

    return run


def _raising(tool: BaseTool) -> BaseTool:
    """An agent tool that raises its errors (the agents turn them into observations; MCP into tool errors)."""
    return tool.model_copy(update={"handle_tool_error": False, "handle_validation_error": False})


def caller_of(ctx: Context | None) -> Principal:
    """Who calls a tool: the API key of the HTTP request (``/mcp``), or the local user (stdio, keyless)."""
    try:
        request = ctx.request_context.request if ctx is not None else None
    except ValueError:  # outside a request
        request = None
    scope = getattr(request, "scope", None) or {}
    return scope.get(PRINCIPAL) or LOCAL


def _describe(material: Material) -> str:
    """A one-paragraph description of a material from its record, for MP-MCP-style results."""
    parts = [f"{p['label']}: {p['value']}{' ' + p['unit'] if p['unit'] else ''}" for p in material.properties()]
    return f"{material.record.get('formula_pretty')} ({material.material_id}). " + "; ".join(parts) + "."


def build_server(settings: Settings, *, search: SearchService | None = None,
                 crossmodal: CrossModalService | None = None, chat: ChatService | None = None,
                 stateless_http: bool = True, rate_limits: RateLimits | None = None) -> FastMCP:
    """The MCP server over ``settings``' data, sharing ``search``, ``chat`` and the per-key ``rate_limits``
    with the HTTP app when given (over stdio there is one local user and no limit)."""

    def count(group: str, ctx: Context | None) -> Principal:
        caller = caller_of(ctx)
        if rate_limits is not None:
            rate_limits.hit(group, caller.name)
        return caller

    search = search or wiring.search_service(settings)
    crossmodal = crossmodal or CrossModalService(search.catalog, search.encoders, snapshot=settings.mp_snapshot,
                                                 default_encoder=settings.encoder_model)
    chat = chat or wiring.chat_service(settings, search=search)
    artifacts = ArtifactStore(settings.home / "artifacts" / MCP_SESSION)
    typed = expert_tools(wiring.mp_client(settings), artifacts, search=search, default_index=settings.default_index)
    tools = [to_fastmcp(_raising(t)) for name in MCP_ONLY_EXPERTS for t in typed[name]]
    server = FastMCP("matlas", instructions=INSTRUCTIONS, tools=tools, host=settings.host, log_level="WARNING",
                     stateless_http=stateless_http, streamable_http_path="/mcp")
    server._mcp_server.version = matlas.__version__

    def tool(func: Callable[..., Any]) -> None:
        server.add_tool(_threaded(func), name=func.__name__, description=(func.__doc__ or "").strip())

    def retrieval_search(
        query: Annotated[str, Field(min_length=1, max_length=10_000, description="Query text.")],
        mode: Annotated[SearchMode, Field(description="muvera (FDE + MaxSim re-rank), dense, exact MaxSim, or hybrid (RRF with BM25).")] = "muvera",
        k: Annotated[int, Field(ge=1, le=MAX_K, description="Number of hits.")] = 10,
        index: Annotated[str | None, Field(description="Index name; default the platform's default index.")] = None,
        ctx: Context | None = None,
    ) -> dict[str, Any]:
        """Rank documents of one of the platform's indexes for a text query (ids, titles, scores, text, metadata)."""
        caller = count("search", ctx)
        name = index or settings.default_index
        searcher = search.searcher(name)
        check_exact(caller, mode, name, searcher.index.manifest.documents, settings.exact_max_documents)
        hits = search.search(searcher, query, k, mode=mode)
        return {"index": name, "version": searcher.index.manifest.version, "mode": mode,
                "hits": [h.model_dump() for h in hits]}

    def list_indexes() -> dict[str, Any]:
        """The platform's built document indexes: name, serving version, documents, encoder."""
        return {"indexes": [{"name": e.name, "version": e.manifest.version, "documents": e.manifest.documents,
                             "encoder": e.manifest.encoder.model_id} for e in search.catalog.entries("muvera")]}

    def crossmodal_search(
        text: Annotated[str | None, Field(max_length=10_000, description="A description; returns structures.")] = None,
        structure: Annotated[str | None, Field(description="CIF text, pymatgen JSON, or an MP id; returns texts.")] = None,
        k: Annotated[int, Field(ge=1, le=1000)] = 10,
        index: Annotated[str, Field(description="Cross-modal hash index name.")] = CROSSMODAL_INDEX,
        ctx: Context | None = None,
    ) -> dict[str, Any]:
        """Cross-modal search over binary codes: structures for a text, or texts for a structure (exactly one)."""
        if (text is None) == (structure is None) or (text is not None and not text.strip()):
            raise InvalidInput("give exactly one of 'text' (non-blank) and 'structure'")
        count("search", ctx)
        searcher, hits = crossmodal.search(index, text=text, structure=structure, k=k)
        return {"index": index, "version": searcher.manifest.version, "hits": [h.model_dump() for h in hits]}

    def export_structure_tool(
        structure: Annotated[str, Field(description="An MP id (mp-149) or a handle from the structure tools (artifact://structure/...).")],
        format: Annotated[ExportFormat, Field(description="cif, poscar or json (pymatgen Structure.as_dict).")] = "cif",
    ) -> dict[str, Any]:
        """Write a structure as CIF, POSCAR or pymatgen JSON, noting its provenance or what was done to it."""
        if structure.strip().startswith("artifact://"):
            file = artifact_file(artifacts, structure, format)
        else:
            file = material_file(get_material(settings, structure), format)
        return {"filename": file.filename, "media_type": file.media_type, "content": file.text}

    export_structure_tool.__name__ = "export_structure"

    def ask(
        question: Annotated[str, Field(min_length=1, max_length=8000, description="A question about materials.")],
        session_id: Annotated[str | None, Field(description="Chat session to continue; null starts one.")] = None,
        ctx: Context | None = None,
    ) -> dict[str, Any]:
        """One grounded agent turn: an answer from Materials Project data with its citations and ungrounded numbers."""
        session, answer = chat.ask(session_id, question, count("chat", ctx).name)
        return {"session_id": session.id, "answer": answer.content, "citations": answer.citations,
                "ungrounded": answer.ungrounded, "tool_steps": len(answer.steps)}

    # MP's own MCP tools (mp_api.mcp): search, fetch, fetch_many, get_phase_diagram_from_elements.

    def search_tool(
        query: Annotated[str, Field(min_length=1, max_length=500, description="A formula (TiO2), a chemical system (Li-P-S) or comma-separated keywords (perovskite,ferroelectric).")],
    ) -> dict[str, Any]:
        """Find materials by formula, chemical system or keywords; returns ids and short texts (then `fetch`)."""
        criteria = _formula_or_chemsys(query)
        if criteria:
            docs = wiring.mp_client(settings).search("summary", limit=50, fields=["material_id"], **criteria)
            return {"results": [_result(get_material(settings, d["material_id"])) for d in docs[:50]]}
        hits = search.searcher(settings.default_index).search(" ".join(query.split(",")), 10, mode="hybrid")
        return {"results": [{"id": h.id, "title": h.title, "text": h.text[:500]} for h in hits]}

    search_tool.__name__ = "search"

    def fetch(
        idx: Annotated[str, Field(description="An MP id (mp-149), a formula (most stable one) or a chemical system.")],
    ) -> dict[str, Any]:
        """Complete information on one material: properties with units, provenance and its page and structure URLs."""
        return _fetch([idx], one_per_chemsys=True)[0]

    def fetch_many(
        str_idxs: Annotated[str, Field(description="Comma-separated MP ids, formulas or chemical systems (at most 100).")],
        limit_one_per_chemsys: bool = False,
    ) -> list[dict[str, Any]]:
        """Complete information on several materials (MP ids, formulas, chemical systems)."""
        return _fetch([s.strip() for s in str_idxs.split(",") if s.strip()], limit_one_per_chemsys)

    def get_phase_diagram_from_elements(
        elements: Annotated[str, Field(description="Comma-separated elements, e.g. 'Li, Fe, O'.")],
    ) -> dict[str, Any]:
        """Phase diagram of a chemical system from the data's formation energies: stable phases, energy above hull."""
        return phase_diagram(settings, elements)

    def _fetch(idxs: list[str], one_per_chemsys: bool) -> list[dict[str, Any]]:
        if not idxs or len(idxs) > MAX_FETCH:
            raise InvalidInput(f"give 1 to {MAX_FETCH} identifiers; got {len(idxs)}")
        ids: list[str] = []
        for idx in idxs:
            if (criteria := _formula_or_chemsys(idx)) and not idx.lower().startswith(("mp-", "mvc-")):
                docs = wiring.mp_client(settings).search("summary", limit=50, fields=["material_id", "energy_above_hull"], **criteria)
                if not docs:
                    raise InvalidInput(f"no material matches {idx!r}")
                docs.sort(key=lambda d: d.get("energy_above_hull") or 0.0)
                ids += [d["material_id"] for d in (docs[:1] if one_per_chemsys else docs)]
            else:
                ids.append(idx)
        return [_result(get_material(settings, i), full=True) for i in dict.fromkeys(ids)]

    def _result(material: Material, full: bool = False) -> dict[str, Any]:
        out = {"id": material.material_id, "title": f"{material.record.get('formula_pretty')} ({material.material_id})",
               "text": _describe(material)}
        if full:
            out |= {"url": f"/materials/{material.material_id}",
                    "structure_url": f"/v1/materials/{material.material_id}/structure?format=cif",
                    "metadata": {"properties": material.properties(), "provenance": material.provenance()}}
        return out

    for func in (retrieval_search, list_indexes, crossmodal_search, export_structure_tool, ask, search_tool, fetch,
                 fetch_many, get_phase_diagram_from_elements):
        tool(func)

    @server.resource("matlas://indexes", mime_type="application/json", description="The built document indexes.")
    def indexes_resource() -> str:
        return json.dumps(list_indexes())

    @server.resource("matlas://indexes/{name}", mime_type="application/json", description="An index's manifest.")
    def index_resource(name: str) -> str:
        from index.manifest import IndexManifest

        return IndexManifest.read(search.resolve(name).current_path()).model_dump_json()

    @server.resource("matlas://materials/{material_id}", mime_type="application/json",
                     description="A material's summary record with provenance.")
    def material_resource(material_id: str) -> str:
        material = get_material(settings, material_id)
        return json.dumps({"record": material.record, "provenance": material.provenance()}, default=str)

    @server.resource("matlas://materials/{material_id}/structure.cif", mime_type="chemical/x-cif",
                     description="A material's structure as CIF.")
    def material_cif(material_id: str) -> str:
        return material_file(get_material(settings, material_id), "cif").text

    return server


def _formula_or_chemsys(query: str) -> dict[str, str]:
    """``{"formula": ...}`` or ``{"chemsys": ...}`` when ``query`` reads as one, else ``{}`` (keywords)."""
    from pymatgen.core import Composition, Element

    query = query.strip()
    if "," in query or " " in query:
        return {}
    if "-" in query and not query.lower().startswith(("mp-", "mvc-")):
        parts = query.split("-")
        if all(Element.is_valid_symbol(p) for p in parts):
            return {"chemsys": "-".join(sorted(parts))}
        return {}
    try:
        if query[:1].isupper():
            return {"formula": Composition(query).reduced_formula}
    except (ValueError, KeyError):
        pass
    return {}

