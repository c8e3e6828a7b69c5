"""Grounded answers on a generated question set: the configured model (default the offline SmolLM2-135M)
and a scripted planner (the ceiling: a model that copies every linked fact it is given) in one run.

    python -m bench.agent_eval --from ../shared/data/mp/materials.jsonl --mp-db mp.sqlite --generate 48

The snapshot SQLite is built once with ``matlas mp import --materials ... --synthesis ... --db mp.sqlite``.
Prints the eval tables of each model (``--json`` for programs).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agents.eval import expected_values, run_eval
from agents.eval_generate import generate, read_records
from matlas.settings import Settings
from matlas.wiring import chat_agent, mp_client

_FACT = re.compile(r"^- (?P<label>.+?) of (?P<formula>\S+) \[(?P<id>[^\]]+)\]: (?P<value>[^(]+?)(?: \(.*\))?$")
_RECORD = re.compile(r"^- (?P<formula>\S+) \[(?P<id>[^\]]+)\]")


class FactCopier(BaseChatModel):
    """The ceiling planner: answers with every fact of the linker's context, value, unit and MP id as given."""

    @property
    def _llm_type(self) -> str:
        return "fact-copier"

    def bind_tools(self, tools: Any, **kwargs: Any) -> FactCopier:
        """The copier plans nothing: every eval question is linked, so it only writes from facts."""
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        context = next((str(m.content) for m in messages if isinstance(m, SystemMessage)), "")
        lines = []
        for line in context.splitlines():
            if m := _FACT.match(line):
                lines.append(f"The {m['label']} of {m['formula']} is {m['value'].strip()} [{m['id']}].")
            elif m := _RECORD.match(line):
                lines.append(f"{m['formula']} [{m['id']}].")
        return ChatResult(generations=[ChatGeneration(message=AIMessage(" ".join(lines) or "I do not know."))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, required=True, help="materials JSONL(.gz) or snapshot")
    parser.add_argument("--mp-db", type=Path, required=True, help="snapshot SQLite the agent answers from")
    parser.add_argument("--generate", type=int, default=48, help="single-property questions (+10 compare/range)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", nargs="+", default=["planner", "configured"], choices=["planner", "configured"])
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    settings = Settings(mp_db=args.mp_db, mp_endpoint=None, mp_api_key=None)
    tasks = generate(read_records(args.source), args.generate, seed=args.seed)
    expected = expected_values(tasks, mp_client(settings))
    reports = {}
    for name in args.models:
        agent = chat_agent(settings, llm=FactCopier() if name == "planner" else None, session_id=f"bench-{name}")
        for task in tasks[: args.warmup]:
            agent.ask([], task.question)
        reports[name] = run_eval(lambda q, agent=agent: agent.ask([], q), tasks, expected)
    if args.json:
        print(json.dumps({k: v.model_dump() for k, v in reports.items()}, default=str))
        return
    from matlas.cli.chat_cmd import print_report

    for name, report in reports.items():
        print_report(report, title=f"agent eval: {name} model")


if __name__ == "__main__":
    main()
