"""``matlas hash ...``: fit a cross-modal hash index on an MP snapshot, search it from either side."""

from __future__ import annotations

from pathlib import Path

import typer

from matlas import wiring
from matlas.cli._common import JsonOption, console, print_json, settings_of
from matlas.errors import InvalidInput

app = typer.Typer(help="Cross-modal hashing: text <-> crystal structure.", no_args_is_help=True)

IndexOption = typer.Option("crossmodal", "--index", help="Cross-modal index directory, or a name under the index root.")


def _root(ctx: typer.Context, value: str) -> Path:
    from index.versions import resolve_index

    return resolve_index(value, settings_of(ctx).indexes_dir, must_exist=False).path


def _snapshot(ctx: typer.Context, value: Path | None) -> Path | None:
    return value or settings_of(ctx).mp_snapshot


@app.command("fit")
def fit(
    ctx: typer.Context,
    snapshot: Path | None = typer.Option(None, help="MP snapshot folder (materials.jsonl ...); default: settings."),
    out: str = IndexOption,
    bits: int | None = typer.Option(None, help="Code length: 16, 32, 64 or 128 (default: settings)."),
    method: str = typer.Option("rreh", help="rreh | cmfh | lsh"),
    factory: str = typer.Option("BFlat", help="Binary index: BFlat, BHash<b>, BMultiHash<m>x<b>."),
    max_structures: int | None = typer.Option(None, help="Keep at most this many structures (paired ones first)."),
    seed: int = typer.Option(0, help="Seed of the hasher."),
    as_json: bool = JsonOption,
) -> None:
    """Learn hash functions from the snapshot's pairs and unpaired items; publish a new version."""
    from retrieval.crossmodal import MODALITIES, default_hasher, fit_crossmodal, load_snapshot
    from retrieval.hashing import CMFH, LSH

    settings = settings_of(ctx)
    folder = _snapshot(ctx, snapshot)
    if folder is None:
        raise InvalidInput("no MP snapshot: pass --snapshot or set MATLAS_MP_SNAPSHOT")
    bits = bits or settings.hash_bits
    makers = {"rreh": lambda: default_hasher(bits, seed),
              "cmfh": lambda: CMFH(bits, modalities=MODALITIES, kernel=500, seed=seed),
              "lsh": lambda: LSH(bits, modalities=MODALITIES, seed=seed)}
    if method not in makers:
        raise InvalidInput(f"unknown method {method!r}; use one of {sorted(makers)}")
    try:
        hasher = makers[method]()
    except ValueError as err:
        raise InvalidInput(str(err)) from None
    data = load_snapshot(folder, max_structures=max_structures)
    manifest = fit_crossmodal(data, _root(ctx, out), wiring.encoder(settings), hasher=hasher, factory=factory)
    if as_json:
        print_json(manifest)
        return
    console.print(f"[bold green]{manifest['name']}[/] {manifest['version']}: {method} {manifest['bits']} bits, "
                  f"{manifest['parts']['text']} texts, {manifest['parts']['structure']} structures, "
                  f"{len(data.pairs)} pairs, '{manifest['factory']}'")


@app.command("search")
def search(
    ctx: typer.Context,
    text: str | None = typer.Option(None, "--text", help="Describe a material; returns structures."),
    structure: str | None = typer.Option(
        None, "--structure", help="CIF / POSCAR / pymatgen JSON file, or an mp-id in the snapshot; returns texts."),
    index: str = IndexOption,
    k: int = typer.Option(10, "-k", min=1, max=1000, help="Number of hits."),
    snapshot: Path | None = typer.Option(None, help="MP snapshot to resolve mp-ids (default: settings)."),
    as_json: bool = JsonOption,
) -> None:
    """Search structures by text, or texts by structure, over a cross-modal hash index.

    Texts are encoded with the encoder the index's manifest records, not the configured one.
    """
    from retrieval.crossmodal import CrossModalSearcher
    from retrieval.structures import parse_structure, read_structure_file

    if (text is None) == (structure is None):
        raise InvalidInput("give exactly one of --text or --structure")
    if text is not None and not text.strip():
        raise InvalidInput("--text must not be empty")
    query = None
    if structure is not None:
        is_file = "\n" not in structure and Path(structure).is_file()
        query = read_structure_file(structure) if is_file else parse_structure(structure, _snapshot(ctx, snapshot))
    settings = settings_of(ctx)
    searcher = CrossModalSearcher(_root(ctx, index), wiring.encoder_cache(settings).get,
                                  default_encoder=settings.encoder_model)
    hits = searcher.search(text=text, structure=query, k=k)
    if as_json:
        print_json([h.model_dump() for h in hits])
        return
    for h in hits:
        console.print(f"{h.rank:>3}  {h.hamming:>3}  {h.id:<22} {h.chemsys:<14} {h.title}", markup=False, highlight=False)
