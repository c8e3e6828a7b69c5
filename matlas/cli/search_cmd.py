"""``matlas search`` (one query or a batch) and ``matlas eval`` (BEIR metrics of a run)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.table import Table

from matlas.cli._common import JsonOption, console, print_json, settings_of
from matlas.errors import InvalidInput

ModeOption = typer.Option("muvera", "--mode", help="muvera | dense | exact | hybrid")
IndexOption = typer.Option(..., "--index", help="Index directory, or a name under the index root.")


def _service(ctx: typer.Context):
    from matlas import wiring

    return wiring.search_service(settings_of(ctx), allow_paths=True)


def search(
    ctx: typer.Context,
    query: str | None = typer.Argument(None, help="Query text (or use --queries for a batch)."),
    index: str = IndexOption,
    k: int = typer.Option(10, "-k", "--k", help="Hits to return."),
    mode: str = ModeOption,
    candidates: int | None = typer.Option(None, help="FDE candidates to re-rank (muvera, hybrid)."),
    queries: Path | None = typer.Option(None, "--queries", help="BEIR queries.jsonl to run as a batch."),
    run_out: Path | None = typer.Option(None, "--run-out", help="Write the batch run as TREC run TSV."),
    as_json: bool = JsonOption,
) -> None:
    """Search an index with one query, or run a batch of queries into a run file."""
    from retrieval.corpus import load_queries

    if (query is None) == (queries is None):
        raise InvalidInput("give either a query text or --queries FILE")
    if queries is not None and run_out is None:
        raise InvalidInput("--queries needs --run-out FILE for the run")
    searcher = _service(ctx).searcher(index)
    if query is not None:
        start = time.perf_counter()
        hits = searcher.search(query, k, mode=mode, candidates=candidates)
        took_ms = (time.perf_counter() - start) * 1000
        if as_json:
            print_json({"query": query, "mode": mode, "took_ms": round(took_ms, 2), "hits": [h.model_dump() for h in hits]})
            return
        table = Table("rank", "score", "id", "title", "text", title=f"{mode} · {took_ms:.0f} ms")
        for h in hits:
            table.add_row(str(h.rank), f"{h.score:.4f}", h.id, h.title, h.text[:80])
        console.print(table)
        return
    qs = load_queries(queries)
    ranked = searcher.rank_batch([q.text for q in qs], k, mode=mode, candidates=candidates, progress=not as_json)
    results = [searcher.hits(scores, ids) for scores, ids in ranked]
    run_out.parent.mkdir(parents=True, exist_ok=True)
    with open(run_out, "w") as f:
        for q, hits in zip(qs, results):
            for h in hits:
                f.write(f"{q.id}\tQ0\t{h.id}\t{h.rank}\t{h.score:.6f}\tmatlas-{mode}\n")
    summary = {"queries": len(qs), "run": str(run_out), "mode": mode, "k": k}
    if as_json:
        print_json(summary)
    else:
        console.print(f"wrote {len(qs)} rankings to {run_out}")


eval_app = typer.Typer(help="Evaluate retrieval runs (matlas eval --index ...) and the chat agent (matlas eval agent).")


@eval_app.callback(invoke_without_command=True)
def evaluate_retrieval(
    ctx: typer.Context,
    index: str | None = typer.Option(None, "--index", help="Index directory or name."),
    queries: Path | None = typer.Option(None, "--queries", help="BEIR queries.jsonl."),
    qrels: Path | None = typer.Option(None, "--qrels", help="BEIR qrels TSV (query-id, corpus-id, score)."),
    mode: str = ModeOption,
    candidates: int | None = typer.Option(None, help="FDE candidates to re-rank."),
    as_json: bool = JsonOption,
) -> None:
    """Run queries against an index and print nDCG@10, Recall@100 and MRR@10."""
    from retrieval.corpus import load_qrels, load_queries
    from retrieval.metrics import evaluate

    if ctx.invoked_subcommand is not None:
        return
    if not (index and queries and qrels):
        raise InvalidInput("matlas eval needs --index, --queries and --qrels")
    judgments = load_qrels(qrels)
    qs = [q for q in load_queries(queries) if q.id in judgments]
    if not qs:
        raise InvalidInput(f"none of the queries in {queries} has judgments in {qrels}")
    searcher = _service(ctx).searcher(index)
    start = time.perf_counter()
    ranked = searcher.rank_batch([q.text for q in qs], 100, mode=mode, candidates=candidates, progress=not as_json)
    seconds = time.perf_counter() - start
    ids = [d.id for d in searcher.index.documents]
    run = {q.id: [ids[i] for i in positions] for q, (_, positions) in zip(qs, ranked)}
    metrics = evaluate(run, judgments) | {"mode": mode, "seconds": round(seconds, 2)}
    if as_json:
        print_json(metrics)
        return
    table = Table("mode", "queries", "nDCG@10", "Recall@100", "MRR@10", "seconds")
    table.add_row(mode, str(metrics["queries"]), f"{metrics['ndcg@10']:.4f}", f"{metrics['recall@100']:.4f}",
                  f"{metrics['mrr@10']:.4f}", f"{seconds:.1f}")
    console.print(table)
