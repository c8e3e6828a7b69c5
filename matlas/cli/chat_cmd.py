"""``matlas chat`` (one question, or an interactive session) and ``matlas eval agent``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from matlas.cli._common import JsonOption, console, err_console, print_json, settings_of
from matlas.errors import InvalidInput

if TYPE_CHECKING:
    from agents.chat import ChatAnswer, ChatEvent
    from agents.eval import EvalReport
    from agents.sessions import ChatService

EXIT_COMMANDS = ("/exit", "/quit")
STEP_CHARS = 160  # tool results shown in the interactive view are cut to this


def _footer(answer: ChatAnswer, session_id: str) -> None:
    if answer.citations:
        console.print(Text.assemble(("cited: ", "bold"), ", ".join(answer.citations)))
    if answer.ungrounded:
        console.print(Text.assemble(("ungrounded (no tool returned these numbers): ", "yellow"),
                                    ", ".join(answer.ungrounded)))
    console.print(f"session {session_id}", style="dim", markup=False, highlight=False)


def _dim(text: str) -> None:
    console.print(text, style="dim", markup=False, highlight=False)


def _show(event: ChatEvent) -> None:
    """Print one step, token or error of a streamed turn."""
    data = event.data
    if event.event == "route":
        _dim(f"→ {data['expert']} expert: {data.get('task', '')}")
    elif event.event == "tool_call":
        _dim(f"  · {data['tool']}({json.dumps(data['args'])})")
    elif event.event == "tool_result":
        text = " ".join(str(data["content"]).split())
        _dim(f"  ← {data['tool']}: {text if len(text) <= STEP_CHARS else text[:STEP_CHARS] + ' …'}")
    elif event.event == "token":
        console.out(data["text"], end="", highlight=False)
    elif event.event == "error":
        err_console.print(f"error: {data['detail']}", markup=False, highlight=False)


def _interactive(service: ChatService, session_id: str | None) -> None:
    """Read messages until /exit or end of input; stream each turn's steps and tokens as they come."""
    from agents.chat import ChatAnswer

    console.print("[bold]matlas chat[/]: ask about materials; /exit to leave.")
    while True:
        try:
            message = console.input("[bold cyan]you>[/] ").strip()
        except EOFError:
            break
        if message in EXIT_COMMANDS:
            break
        if not message:
            continue
        session, events = service.start(session_id, message)
        session_id, tokens = session.id, []
        for event in events:
            if event.event == "token":
                tokens.append(event.data["text"])
                _show(event)
                continue
            if tokens:
                console.out("")
            if event.event == "answer":
                answer = ChatAnswer.model_validate(event.data)
                if "".join(tokens).strip() != answer.content.strip():  # the backend did not stream it
                    console.print(Markdown(answer.content))
                _footer(answer, session.id)
            else:
                _show(event)
            tokens = []
    if session_id is not None:
        _dim(f"continue with: matlas chat --session {session_id}")


def chat(
    ctx: typer.Context,
    question: str | None = typer.Argument(None, help="Question; without one, an interactive session starts."),
    session: str | None = typer.Option(None, "--session", help="Session id to continue (default: a new session)."),
    as_json: bool = JsonOption,
) -> None:
    """Ask the Materials Project agents; answers cite MP ids and flag numbers no tool returned."""
    from matlas.wiring import chat_service

    service = chat_service(settings_of(ctx))
    if question is None:
        if as_json:
            raise InvalidInput("--json needs a question: matlas chat 'band gap of GaN?' --json")
        _interactive(service, session)
        return
    if not question.strip():
        raise InvalidInput("the question is empty")
    stored, answer = service.ask(session, question)
    if as_json:
        print_json({"session_id": stored.id, "answer": answer.model_dump()})
        return
    console.print(Markdown(answer.content))
    _footer(answer, stored.id)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def print_report(report: EvalReport, title: str = "agent eval") -> None:
    """The eval's tables: per question, per property (single-property), per kind, then the totals."""
    table = Table("task", "kind", "property", "expected", "modal", "unit", "right", "cited", "composed", "latency s",
                  title=f"{title} · {report.runs_per_task} run(s) per question")
    for t in report.tasks:
        table.add_row(t.id, t.kind, t.property, _fmt(t.expected, 4), _fmt(t.modal, 4), t.unit, f"{t.accuracy:.0%}",
                      f"{t.citation_rate:.0%}", f"{sum(r.composed for r in t.runs) / len(t.runs):.0%}",
                      _fmt(max(r.latency_s for r in t.runs)))
    console.print(table)
    props = Table("property", "runs", "within 1 %", "right MP id", "both", title="single-property questions")
    for prop, row in report.by_property.items():
        props.add_row(prop, str(int(row["n"])), f"{row['accuracy']:.1%}", f"{row['citation']:.1%}", f"{row['both']:.1%}")
    console.print(props)
    kinds = Table("kind", "runs", "right", title="by kind (compare: winner cited with its value; range: exact id set)")
    for kind, row in report.by_kind.items():
        kinds.add_row(kind, str(int(row["n"])), f"{row['accuracy']:.1%}")
    console.print(kinds)
    console.print(f"latency p50 {_fmt(report.latency_p50_s)} s · p95 {_fmt(report.latency_p95_s)} s · composed "
                  f"{report.composed_rate:.0%} · repaired {report.repaired_rate:.0%} · MP ids added "
                  f"{report.ids_added_rate:.0%} · ungrounded numbers flagged {report.ungrounded_flagged}, shown "
                  f"unflagged {report.ungrounded_unflagged} · SCR {report.scr:.0%} · LLaMP SCR "
                  f"{_fmt(report.scr_llamp)} · MAPE {_fmt(report.mape)} %", highlight=False)


def eval_agent(
    ctx: typer.Context,
    tasks: Path | None = typer.Option(None, "--tasks", help="Tasks JSON (default: the bundled MP task set)."),
    runs: int = typer.Option(1, "--runs", min=1, help="Runs per question (fresh conversations), for SCR."),
    mp_db: Path | None = typer.Option(None, "--mp-db", help="MP snapshot (SQLite) the agent answers from."),
    generate: int | None = typer.Option(None, "--generate", min=1,
                                        help="Generate this many single-property questions (plus 10 comparison "
                                        "and range questions) from the snapshot --from."),
    source: Path | None = typer.Option(None, "--from", help="Snapshot to generate from: materials JSONL(.gz) or "
                                       "snapshot SQLite."),
    out: Path | None = typer.Option(None, "--out", help="Write the generated tasks here (JSON) and stop."),
    seed: int = typer.Option(0, "--seed", help="Seed of the question generator."),
    warmup: int = typer.Option(1, "--warmup", min=0, help="Questions asked first and not scored (model loading)."),
    as_json: bool = JsonOption,
) -> None:
    """Ask the chat agent each task's question and score the answers against MP (accuracy, citations, SCR,
    grounding, latency)."""
    from agents.eval import DEFAULT_TASKS, expected_values, load_tasks, run_eval
    from agents.eval_generate import generate as generate_tasks
    from agents.eval_generate import read_records
    from matlas.wiring import chat_agent, mp_client

    settings = settings_of(ctx)
    if mp_db is not None:
        if not mp_db.is_file():
            raise InvalidInput(f"MP snapshot not found: {mp_db} (build one with matlas mp import)")
        settings = settings.model_copy(update={"mp_db": mp_db, "mp_endpoint": None, "mp_api_key": None})
    if generate is not None:
        if source is None:
            raise InvalidInput("--generate needs --from: a materials JSONL(.gz) or snapshot SQLite to draw questions from")
        task_list = generate_tasks(read_records(source), generate, seed=seed)
        if out is not None:
            out.write_text(json.dumps([t.model_dump(exclude_defaults=True) for t in task_list], indent=1))
            console.print(f"wrote {len(task_list)} tasks to {out}")
            return
    else:
        task_list = load_tasks(tasks or DEFAULT_TASKS)
    expected = expected_values(task_list, mp_client(settings))
    agent = chat_agent(settings, session_id="eval")
    for task in task_list[:warmup]:
        agent.ask([], task.question)

    def progress(task, i: int) -> None:
        if not as_json:
            err_console.print(f"{task.id} run {i + 1}/{runs}", style="dim", markup=False, highlight=False)

    report = run_eval(lambda q: agent.ask([], q), task_list, expected, runs=runs, progress=progress)
    if as_json:
        print_json(report.model_dump())
        return
    print_report(report)
