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


def _print_report(report: EvalReport) -> None:
    table = Table("task", "property", "expected", "modal", "unit", "MAE", "answered", "cited", "SCR",
                  title=f"agent eval · {report.runs_per_task} run(s) per question")
    for t in report.tasks:
        table.add_row(t.id, t.property, _fmt(t.expected, 4), _fmt(t.modal, 4), t.unit, _fmt(t.mae),
                      f"{t.answer_rate:.0%}", f"{t.citation_rate:.0%}", f"{t.scr:.0%}")
    console.print(table)
    for prop, mae in report.mae_by_property.items():
        console.print(f"MAE {prop}: {mae:.4g}", highlight=False)
    console.print(f"MAPE {_fmt(report.mape)} %  ·  answer rate {report.answer_rate:.0%}  ·  "
                  f"citation rate {report.citation_rate:.0%}  ·  SCR {report.scr:.0%}", highlight=False)


def eval_agent(
    ctx: typer.Context,
    tasks: Path | None = typer.Option(None, "--tasks", help="Tasks JSON (default: the bundled MP task set)."),
    runs: int = typer.Option(1, "--runs", min=1, help="Runs per question (fresh conversations), for SCR."),
    as_json: bool = JsonOption,
) -> None:
    """Ask the chat agent each task's question and score the values against MP (MAE, MAPE, citations, SCR)."""
    from agents.chat import build_chat_agent
    from agents.eval import DEFAULT_TASKS, expected_values, load_tasks, run_eval

    settings = settings_of(ctx)
    task_list = load_tasks(tasks or DEFAULT_TASKS)
    expected = expected_values(task_list, settings)
    agent = build_chat_agent(settings, session_id="eval")

    def progress(task, i: int) -> None:
        if not as_json:
            err_console.print(f"{task.id} run {i + 1}/{runs}", style="dim", markup=False, highlight=False)

    report = run_eval(lambda q: agent.ask([], q), task_list, expected, runs=runs, progress=progress)
    if as_json:
        print_json(report.model_dump())
        return
    _print_report(report)
