"""``matlas worker``, ``matlas beat`` and ``matlas task ...``: the Celery work engine."""

from __future__ import annotations

import os
import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from matlas import wiring
from matlas.cli._common import JsonOption, console, print_json, settings_of
from workers.queues import QUEUES, REBUILD_QUEUES

if TYPE_CHECKING:
    from workers.queues import TaskInfo

tasks_app = typer.Typer(help="Submit tasks to the workers and follow them.", no_args_is_help=True)


QueueName = Enum("QueueName", {name: name for name in QUEUES}, type=str)
RebuildQueue = Enum("RebuildQueue", {name: name for name in REBUILD_QUEUES}, type=str)


class LogLevel(str, Enum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


LogLevelOption = typer.Option(LogLevel.info, "-l", "--loglevel", help="Log level.")


def worker(
    ctx: typer.Context,
    queues: list[QueueName] = typer.Option(..., "-Q", "--queue", help="Queue to consume; repeat for more."),
    concurrency: int = typer.Option(1, "-c", "--concurrency", min=1, help="Pool processes (gpu, llm: 1 per GPU)."),
    loglevel: LogLevel = LogLevelOption,
) -> None:
    """Run a Celery worker for queues llm, gpu or index on MATLAS_BROKER_URL.

    Models load once in each pool process, never in the parent. Run one GPU worker per GPU:
    CUDA_VISIBLE_DEVICES=0 matlas worker -Q gpu -c 1 (and =1, =2 ... for the others).
    """
    from workers.app import app, require_broker

    require_broker(settings_of(ctx))

    names = ",".join(dict.fromkeys(q.value for q in queues))
    node = f"{names.replace(',', '-')}-{os.getpid()}@%h"  # unique per process, also with several per host
    app.worker_main(["worker", "-Q", names, "-c", str(concurrency), "-l", loglevel.value, "-n", node])


def beat(ctx: typer.Context, loglevel: LogLevel = LogLevelOption) -> None:
    """Run celery beat: rebuild MATLAS_REBUILD_INDEXES every MATLAS_REBUILD_EVERY_S seconds (run one beat only)."""
    from workers.app import app, require_broker

    settings = settings_of(ctx)
    require_broker(settings)
    settings.home.mkdir(parents=True, exist_ok=True)  # holds the beat schedule state
    app.start(["beat", "-l", loglevel.value])


@tasks_app.command("rebuild")
def rebuild(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Index name under the index root."),
    corpus: Path | None = typer.Option(None, help="corpus.jsonl to rebuild from (recorded for later rebuilds)."),
    queue: RebuildQueue = typer.Option(REBUILD_QUEUES[0], help="index, or gpu to encode on a GPU worker."),
    wait: float = typer.Option(0.0, min=0, help="Seconds to wait for a queued rebuild to finish."),
    as_json: bool = JsonOption,
) -> None:
    """Rebuild an index from its corpus: queued when a broker is set, else here and now."""
    settings = settings_of(ctx)
    info = wiring.submit_rebuild(settings, name, corpus, queue=queue.value)
    deadline = time.monotonic() + wait
    while info.state not in ("SUCCESS", "FAILURE") and time.monotonic() < deadline:
        time.sleep(0.5)
        info = wiring.task_info(settings, info.id)
    _show(info, as_json)


@tasks_app.command("status")
def status(ctx: typer.Context, task_id: str = typer.Argument(..., help="Task id."), as_json: bool = JsonOption) -> None:
    """Where a submitted task stands."""
    _show(wiring.task_info(settings_of(ctx), task_id), as_json)


def _show(info: TaskInfo, as_json: bool) -> None:
    """Print a ``TaskInfo``; exit 1 when the task failed or its rebuild was rejected."""
    failed = info.state == "FAILURE" or (info.result or {}).get("status") == "rejected"
    if as_json:
        print_json(info.model_dump(mode="json"))
    else:
        line = f"task {info.id}: {info.state}" + (f" ({info.stage})" if info.stage else "")
        if info.result:
            r = info.result
            line += (f"; {r['index']} {r['status']}, serving {r['version']} "
                     f"({r['documents']} documents, {r['seconds']:.1f} s)")
            line += "".join(f"\n  problem: {p}" for p in r["problems"])
        if info.error:
            line += f"; error: {info.error}"
        console.print(line, markup=False, highlight=False)
    if failed:
        raise typer.Exit(1)
