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
IndexOption = typer.Option(..., "--index", help="Index directory, or a name under the index root or on Qdrant.")


@app.command("build")
def build(
    ctx: typer.Context,
    corpus: Path = CorpusOption,
    out: str = typer.Option(..., "--out", help="Index directory (or name) to publish a new version in; a new name "
                                               "goes to MATLAS_VECTOR_BACKEND (faiss or qdrant)."),
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
    from index.backends import build_index
    from retrieval.corpus import load_corpus

    settings = settings_of(ctx)
    fde = {"num_repetitions": reps, "num_simhash_projections": ksim, "projection_dimension": dproj,
           "final_projection_dimension": final_dim, "seed": seed}
    params = wiring.build_params(settings, factory=factory, fde=fde, dense=dense, bm25=bm25)
    docs = load_corpus(corpus)
    root = wiring.index_backends(settings).locate(out, allow_paths=True, must_exist=False)
    manifest = build_index(docs, root, wiring.encoder(settings, model), params, progress=not as_json)
    _report(manifest, as_json)


@app.command("append")
def append(ctx: typer.Context, index: str = IndexOption, corpus: Path = CorpusOption, as_json: bool = JsonOption) -> None:
    """Add documents to an index as a new version, without re-encoding the old ones."""
    from index.backends import append_documents, serving_manifest
    from retrieval.corpus import load_corpus

    settings = settings_of(ctx)
    root = wiring.index_backends(settings).locate(index, allow_paths=True)
    built = serving_manifest(root).encoder
    encoder = wiring.encoder(settings, built.model_id, backend=built.backend)
    _report(append_documents(load_corpus(corpus), root, encoder, progress=not as_json), as_json)


@app.command("info")
def info(ctx: typer.Context, index: str = IndexOption, as_json: bool = JsonOption) -> None:
    """Show the serving manifest and the versions of an index."""
    from index.backends import serving_manifest

    root = wiring.index_backends(settings_of(ctx)).locate(index, allow_paths=True)
    manifest = serving_manifest(root)
    if as_json:
        print_json({"path": root.location, "backend": root.backend, "current": manifest.version, "versions": root.versions(),
                    "manifest": manifest.model_dump(mode="json")})
        return
    _report(manifest, False)
    console.print(f"versions: {', '.join(root.versions())} (serving {manifest.version})")


@app.command("list")
def list_indexes(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """List the indexes under the index root and on Qdrant (when configured)."""
    from retrieval.catalog import IndexCatalog

    settings = settings_of(ctx)
    found = IndexCatalog(settings.indexes_dir, qdrant=wiring.qdrant_store(settings)).entries()
    if as_json:
        print_json([{"name": e.name, "kind": e.kind, "backend": e.backend, "path": e.location,
                     "manifest": e.manifest.model_dump(mode="json")} for e in found])
        return
    table = Table("name", "kind", "backend", "version", "items", "factory", "encoder")
    for e in found:
        m = e.manifest
        items = str(m.documents) if e.kind == "muvera" else "+".join(str(n) for n in m.parts.values())
        encoder = m.encoder.model_id if e.kind == "muvera" else str(m.meta.get("encoder"))
        table.add_row(e.name, e.kind, e.backend, m.version, items, m.factory, encoder)
    console.print(table)


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    index: str = IndexOption,
    to: str | None = typer.Option(None, "--to", help="Version to serve (default: the one before)."),
    as_json: bool = JsonOption,
) -> None:
    """Serve an earlier version again (the pointer, or Qdrant alias, flips atomically; no data is deleted)."""
    from index.backends import serving_manifest

    root = wiring.index_backends(settings_of(ctx)).locate(index, allow_paths=True)
    versions, current = root.versions(), root.current()
    if to is None:
        earlier = [v for v in versions if v < current]
        if not earlier:
            raise InvalidInput(f"{current} is the oldest version of {root.location}; nothing to roll back to")
        to = earlier[-1]
    root.publish(to)
    _report(serving_manifest(root), as_json)


def _report(manifest, as_json: bool) -> None:
    if as_json:
        print_json(manifest.model_dump(mode="json"))
        return
    fde = manifest.fde
    console.print(
        f"[bold green]{manifest.name}[/] {manifest.version}: {manifest.documents} documents, "
        f"{manifest.tokens} token vectors, FDE {manifest.fde_dim} dims "
        f"(R={fde.num_repetitions}, k_sim={fde.num_simhash_projections}, d_proj={fde.projection_dimension}), "
        + (f"Qdrant collection {manifest.collection}" if getattr(manifest, "backend", "faiss") == "qdrant"
           else f"FAISS '{manifest.factory}'") + f", encoder {manifest.encoder.model_id}"
    )
