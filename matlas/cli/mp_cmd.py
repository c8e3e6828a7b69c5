"""``matlas mp ...``: import, inspect, serve and sync the local Materials Project snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from matlas import wiring
from matlas.cli._common import JsonOption, console, print_json, settings_of
from matlas.errors import InvalidInput

if TYPE_CHECKING:
    from agents.mp.client import MPClient
    from matlas.settings import Settings

app = typer.Typer(
    help="Materials Project data: the local snapshot and its MP-protocol server.",
    no_args_is_help=True,
)

DbOption = typer.Option(None, "--db", help="Snapshot file (default: settings, HOME/mp.sqlite).")


def mp_client(settings: Settings) -> MPClient:
    """The MP client of ``settings``: live MP with a key, else the snapshot (or the endpoint set)."""
    return wiring.mp_client(settings)


@app.command("import")
def import_(
    ctx: typer.Context,
    materials: Path | None = typer.Option(
        None, "--materials", help="MP-summary-like JSONL(.gz), one material a line."
    ),
    synthesis: Path | None = typer.Option(
        None, "--synthesis", help="Synthesis recipes JSONL(.gz)."
    ),
    entries: Path | None = typer.Option(
        None, "--entries", help="ComputedStructureEntry JSON(.gz) list: thermo with entries."
    ),
    provenance: Path | None = typer.Option(
        None, "--provenance", help="JSON describing the materials' source (name, sample, license)."
    ),
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Upsert materials, recipes and computed entries into the snapshot; each file is one transaction."""
    from agents.mp.snapshot import Provenance, Snapshot

    if materials is None and synthesis is None and entries is None:
        raise InvalidInput("give at least one of --materials, --synthesis, --entries")
    snapshot = Snapshot(db or settings_of(ctx).mp_db_path)
    imported = {}
    if materials is not None:
        source = Provenance.read(provenance) if provenance is not None else None
        imported["materials"] = snapshot.import_materials(
            materials, provenance=source, progress=not as_json
        )
    if synthesis is not None:
        imported["synthesis_recipes"] = snapshot.import_synthesis(synthesis, progress=not as_json)
    if entries is not None:
        imported["materials_with_entries"] = snapshot.import_entries(entries, progress=not as_json)
    info = snapshot.info()
    if as_json:
        print_json({"imported": imported, "snapshot": info.model_dump()})
        return
    done = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in imported.items())
    console.print(
        f"imported {done} into {info.path} "
        f"(now {info.materials} materials, {info.synthesis_recipes} recipes)"
    )


@app.command("corpus")
def corpus(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="BEIR corpus.jsonl to write (then `matlas index build`)."),
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Write the snapshot's synthesis recipes as a BEIR corpus, for an index the retrieval expert searches."""
    from agents.mp.snapshot import Snapshot

    if not out.parent.is_dir():
        raise InvalidInput(f"cannot write {out}: folder {out.parent} does not exist")
    snapshot = Snapshot.ensure(db or settings_of(ctx).mp_db_path, progress=not as_json)
    count, tmp = 0, out.with_name(f".{out.name}.partial")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            for doc in snapshot.synthesis_corpus():
                f.write(doc.model_dump_json(by_alias=True) + "\n")
                count += 1
        tmp.replace(out)  # readers never see a half-written corpus
    finally:
        tmp.unlink(missing_ok=True)
    if as_json:
        print_json({"corpus": str(out), "documents": count})
        return
    console.print(f"wrote {count} synthesis recipes to {out}; index them with "
                  f"`matlas index build --corpus {out} --out synthesis`")


@app.command("info")
def info(ctx: typer.Context, db: Path | None = DbOption, as_json: bool = JsonOption) -> None:
    """Show what the snapshot holds (imported on first use) and where MP queries go."""
    from agents.mp.snapshot import Snapshot

    settings = settings_of(ctx)
    config = mp_client(settings).config
    snapshot = Snapshot.ensure(db or settings.mp_db_path, progress=not as_json)
    source = "live MP (MP_API_KEY set)" if config.key else "the local snapshot"
    info = snapshot.info()
    data = {
        "snapshot": info.model_dump() | {"sample": info.sample},
        "queries_go_to": settings.mp_endpoint or source,
    }
    if as_json:
        print_json(data)
        return
    s = data["snapshot"]
    sources = "; ".join(p["name"] for p in s["provenance"]) or "unknown"
    console.print(
        f"{s['path']}: {s['materials']} materials ({s['entries']} with computed entries), "
        f"{s['synthesis_recipes']} synthesis recipes (db_version {s['db_version']}); "
        f"from: {sources}{' [SAMPLE DATA, not MP values]' if info.sample else ''}; "
        f"MP queries go to {data['queries_go_to']}"
    )


@app.command("serve")
def serve(
    ctx: typer.Context,
    snapshot: Path | None = typer.Option(
        None,
        "--snapshot",
        help="Snapshot file (default: settings; the bundled sample on first use).",
    ),
    host: str = typer.Option("127.0.0.1", help="Bind address."),
    port: int = typer.Option(8001, help="Port."),
) -> None:
    """Serve the snapshot over the MP REST protocol, for any mp-api client."""
    import uvicorn

    from agents.mp.routes import warm_up
    from agents.mp.server import create_mp_app
    from agents.mp.snapshot import Snapshot

    path = snapshot or Snapshot.ensure(settings_of(ctx).mp_db_path, progress=True).path
    app_ = create_mp_app(path)
    warm_up()
    console.print(
        f"[bold]matlas[/] MP snapshot {path} on http://{host}:{port}/\n"
        f"use it:  MATLAS_MP_ENDPOINT=http://{host}:{port}/ matlas ...   "
        f"or  MPRester(api_key=<any 32 chars>, endpoint='http://{host}:{port}/')"
    )
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@app.command("sync")
def sync(
    ctx: typer.Context,
    elements: str | None = typer.Option(
        None, "--elements", help="Materials containing all of these, e.g. Li,Fe,O."
    ),
    ids: str | None = typer.Option(None, "--ids", help="Material ids, e.g. mp-149,mp-13."),
    limit: int = typer.Option(1000, help="At most this many materials."),
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Copy materials from live MP (MP_API_KEY, or MATLAS_MP_ENDPOINT) into the snapshot."""
    from agents.mp.snapshot import Snapshot
    from agents.mp.sync import sync_materials

    settings = settings_of(ctx)
    snapshot = Snapshot(db or settings.mp_db_path)
    copied = sync_materials(
        mp_client(settings), snapshot, elements=_csv(elements), material_ids=_csv(ids), limit=limit
    )
    info = snapshot.info()
    if as_json:
        print_json({"synced": copied, "snapshot": info.model_dump()})
        return
    console.print(f"synced {copied} materials into {info.path} (now {info.materials} materials)")


@app.command("phase-diagram")
def phase_diagram(
    ctx: typer.Context,
    chemsys: str = typer.Argument(..., help="Chemical system, e.g. Li-Fe-O."),
    thermo_type: str = typer.Option("GGA_GGA+U", "--thermo-type", help="MP thermo type."),
    unstable: int = typer.Option(10, "--unstable", min=0, help="List this many phases above the hull."),
    as_json: bool = JsonOption,
) -> None:
    """The convex hull of CHEMSYS, built with pymatgen from MP computed entries (snapshot or live)."""
    from agents.mp.phase_diagram import phase_diagram as build

    result = build(mp_client(settings_of(ctx)), chemsys, thermo_type=thermo_type,
                   max_unstable=unstable)
    if as_json:
        print_json(result.model_dump())
        return
    sample = " [SAMPLE DATA]" if result.source.get("sample") else ""
    console.print(
        f"{result.chemsys} ({result.thermo_type}): {result.entries} entries, "
        f"{len(result.stable)} stable phases, {result.unstable_total} above the hull{sample}"
    )
    for p in result.stable:
        console.print(f"  stable    {p.formula:<12} {p.material_id:<12} "
                      f"E_form {p.formation_energy_per_atom:8.3f} eV/atom")
    for p in result.unstable:
        console.print(f"  +{p.energy_above_hull:.3f}    {p.formula:<12} {p.material_id:<12} "
                      f"-> {' + '.join(p.decomposes_to)}")


def _csv(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]
