"""``matlas index ...``: build, append to, inspect and roll back indexes."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from matlas import wiring
from matlas.cli._common import JsonOption, console, print_json, settings_of
from matlas.errors import InvalidInput

app = typer.Typer(help="Build and manage indexes.", no_args_is_help=True)

CorpusOption = typer.Option(..., "--corpus", help="BEIR corpus.jsonl (_id, title, text, metadata).")
IndexOption = typer.Option(..., "--index", help="Index directory, or a name under the index root.")


@app.command("build")
def build(
    ctx: typer.Context,
    corpus: Path = CorpusOption,
    out: str = typer.Option(..., "--out", help="Index directory (or name) to publish a new version in."),
    factory: str | None = typer.Option(None, help="FAISS factory string: Flat, HNSW32, IVF256,PQ64 ..."),
    model: str | None = typer.Option(None, help="Encoder model name or path (default: settings)."),
    reps: int | None = typer.Option(None, help="FDE repetitions R."),
    ksim: int | None = typer.Option(None, help="FDE SimHash projections k_sim."),
    dproj: int | None = typer.Option(None, help="FDE inner projection dimension."),
    final_dim: int | None = typer.Option(None, help="FDE final count-sketch dimension."),
    seed: int | None = typer.Option(None, help="FDE seed."),
    dense: bool = typer.Option(True, help="Build the pooled single-vector index."),
    bm25: bool = typer.Option(True, help="Build the BM25 index."),
    as_json: bool = JsonOption,
) -> None:
    """Encode a corpus and publish it as a new index version (atomically)."""
    from index.build import build_index
    from index.versions import resolve_index
    from retrieval.corpus import load_corpus

    settings = settings_of(ctx)
    fde = {"num_repetitions": reps, "num_simhash_projections": ksim, "projection_dimension": dproj,
           "final_projection_dimension": final_dim, "seed": seed}
    params = wiring.build_params(settings, factory=factory, fde=fde, dense=dense, bm25=bm25)
    docs = load_corpus(corpus)
    root = resolve_index(out, settings.indexes_dir, must_exist=False)
    manifest = build_index(docs, root.path, wiring.encoder(settings, model), params, progress=not as_json)
    _report(manifest, as_json)


@app.command("append")
def append(ctx: typer.Context, index: str = IndexOption, corpus: Path = CorpusOption, as_json: bool = JsonOption) -> None:
    """Add documents to an index as a new version, without re-encoding the old ones."""
    from index.build import append_documents
    from index.manifest import IndexManifest
    from index.versions import resolve_index
    from retrieval.corpus import load_corpus

    settings = settings_of(ctx)
    root = resolve_index(index, settings.indexes_dir)
    built = IndexManifest.read(root.current_path()).encoder
    encoder = wiring.encoder(settings, built.model_id, backend=built.backend)
    _report(append_documents(load_corpus(corpus), root.path, encoder, progress=not as_json), as_json)


@app.command("info")
def info(ctx: typer.Context, index: str = IndexOption, as_json: bool = JsonOption) -> None:
    """Show the serving manifest and the versions of an index."""
    from index.manifest import IndexManifest
    from index.versions import resolve_index

    root = resolve_index(index, settings_of(ctx).indexes_dir)
    manifest = IndexManifest.read(root.current_path())
    if as_json:
        print_json({"path": str(root.path), "current": manifest.version, "versions": root.versions(),
                    "manifest": manifest.model_dump(mode="json")})
        return
    _report(manifest, False)
    console.print(f"versions: {', '.join(root.versions())} (serving {manifest.version})")


@app.command("list")
def list_indexes(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """List the indexes under the index root."""
    from retrieval.catalog import IndexCatalog

    found = IndexCatalog(settings_of(ctx).indexes_dir).entries()
    if as_json:
        print_json([{"name": e.name, "kind": e.kind, "path": str(e.root.path), "manifest": e.manifest.model_dump(mode="json")}
                    for e in found])
        return
    table = Table("name", "kind", "version", "items", "factory", "encoder")
    for e in found:
        m = e.manifest
        items = str(m.documents) if e.kind == "muvera" else "+".join(str(n) for n in m.parts.values())
        encoder = m.encoder.model_id if e.kind == "muvera" else str(m.meta.get("encoder"))
        table.add_row(e.name, e.kind, m.version, items, m.factory, encoder)
    console.print(table)


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    index: str = IndexOption,
    to: str | None = typer.Option(None, "--to", help="Version to serve (default: the one before)."),
    as_json: bool = JsonOption,
) -> None:
    """Serve an earlier version again (the pointer flips atomically; no data is deleted)."""
    from index.manifest import IndexManifest
    from index.versions import resolve_index

    root = resolve_index(index, settings_of(ctx).indexes_dir)
    versions, current = root.versions(), root.current()
    if to is None:
        earlier = [v for v in versions if v < current]
        if not earlier:
            raise InvalidInput(f"{current} is the oldest version of {root.path}; nothing to roll back to")
        to = earlier[-1]
    root.publish(to)
    _report(IndexManifest.read(root.current_path()), as_json)


def _report(manifest, as_json: bool) -> None:
    if as_json:
        print_json(manifest.model_dump(mode="json"))
        return
    fde = manifest.fde
    console.print(
        f"[bold green]{manifest.name}[/] {manifest.version}: {manifest.documents} documents, "
        f"{manifest.tokens} token vectors, FDE {manifest.fde_dim} dims "
        f"(R={fde.num_repetitions}, k_sim={fde.num_simhash_projections}, d_proj={fde.projection_dimension}), "
        f"FAISS '{manifest.factory}', encoder {manifest.encoder.model_id}"
    )
