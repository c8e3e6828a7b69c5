"""LLaMP-style evaluation of the chat agent: ask each question several times, read the reported value,
and score it against Materials Project (error, citation of the expected MP id, self-consistency).

Tasks are single-property questions (``kind="property"``: one value of one material), comparisons
(``compare``: which of ``material_id`` and ``others`` has the larger/smaller value; right when the
answer cites the winner and states its value) and ranges (``range``: every material of ``expected_ids``
cited, and no other MP id). Each run records the tools called, the facts used, the numbers the
answer states that no tool returned (flagged, and any the answer left unflagged), whether it was
composed from the facts or written by the model (after a repair round, or with MP ids added from the
facts), and its latency.

Two self-consistency rates are reported. ``scr`` (ours): the fraction of a question's runs that agree,
within 1 %, with its modal value. ``scr_llamp``: LLaMP's (Chiang et al. 2024, arXiv:2401.17244) product
of a precision and an accuracy term as we read it, ``max(0, 1 - σ/|μ|) · max(0, 1 - |μ - ref|/|ref|)``
over the values of a question's runs (μ their mean, σ their standard deviation).

Value extraction rule (``extract_value``): the answer's numbers are the decimal literals that are not
part of a word, a formula or an id (``mp-149``, ``LiFePO4``, ``Fe2O3`` contribute none); the reported
value is the number closest, in characters, to a mention of the property (``band gap``, ``formation
energy``, ``bulk modulus``...), a number after the mention winning a tie. Without a mention it is the
first number; without numbers the run has no value. Values are read as given, in the task's unit.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import fmean, pstdev
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, field_validator

from agents.chat import ChatAnswer
from agents.grounding import check_grounding, states_value
from matlas.errors import InvalidInput, MatlasError

if TYPE_CHECKING:
    from agents.mp.client import MPClient

__all__ = [
    "DEFAULT_TASKS",
    "PROPERTY_TERMS",
    "EvalReport",
    "EvalTask",
    "RunResult",
    "TaskResult",
    "expected_values",
    "extract_value",
    "load_tasks",
    "modal_value",
    "run_eval",
    "score_task",
    "scr_llamp",
    "summarize",
    "within",
]

PROPERTY_TERMS: dict[str, tuple[str, ...]] = {
    "band_gap": ("band gap", "bandgap", "gap"),
    "formation_energy_per_atom": ("formation energy", "formation enthalpy", "enthalpy of formation"),
    "energy_above_hull": ("energy above the hull", "energy above hull", "above the hull", "above hull", "e_above_hull"),
    "bulk_modulus": ("bulk modulus", "k_vrh"),
    "shear_modulus": ("shear modulus", "g_vrh"),
    "density": ("density",),
    "volume": ("volume",),
    "total_magnetization": ("total magnetization", "magnetization", "magnetic moment"),
    "e_total": ("dielectric constant", "permittivity"),
    "n": ("refractive index", "index of refraction"),
}
DEFAULT_TASKS = Path(__file__).parent / "data" / "eval_tasks.json"
REL_TOL = 0.01  # two runs agree when within 1 % (or ABS_TOL in the task's unit)
ABS_TOL = 0.005

_NUMBER = re.compile(r"(?<![\w.\-−)])[-−]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])")


class EvalTask(BaseModel):
    """One question whose answer is a single MP property value of one material."""

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    kind: Literal["property", "compare", "range"] = "property"
    material_id: str | None = Field(None, pattern=r"^(mp|mvc)-\d+$",
                                    description="The MP id the answer should cite (a comparison's winner).")
    property: str = Field(description=f"One of {sorted(PROPERTY_TERMS)}.")
    unit: str = Field(description="Unit of the expected value and of the value read from answers.")
    expected: float | None = Field(None, description="Reference value; default: looked up from MP.")
    others: list[str] = Field(default_factory=list, description="compare: the other materials' MP ids.")
    expected_ids: list[str] = Field(default_factory=list, description="range: every MP id that matches.")

    @field_validator("property")
    @classmethod
    def _known_property(cls, value: str) -> str:
        if value not in PROPERTY_TERMS:
            raise ValueError(f"unknown property {value!r}; known: {sorted(PROPERTY_TERMS)}")
        return value


class RunResult(BaseModel):
    """One run of one question."""

    value: float | None = Field(description="Value read from the answer (None: no number, or an error).")
    cited: bool = Field(description="Whether the answer cites the task's MP id.")
    answer: str = ""
    error: str | None = None
    correct: bool | None = Field(None, description="compare / range: the answer is right (see the module doc).")
    tools: list[str] = Field(default_factory=list, description="Tools called, in order.")
    facts: int = Field(0, description="Linked facts the answer could use.")
    ungrounded: list[str] = Field(default_factory=list, description="Numbers the answer flags as no tool's.")
    unflagged: list[str] = Field(default_factory=list, description="Numbers no tool returned that were not flagged.")
    composed: bool = False
    repaired: bool = Field(False, description="The draft needed the model's repair round.")
    ids_added: bool = Field(False, description="The draft stated the values; their MP ids were added from the facts.")
    latency_s: float = 0.0


class TaskResult(BaseModel):
    """All runs of one question, scored against the expected value."""

    id: str
    material_id: str
    property: str
    unit: str
    expected: float
    runs: list[RunResult]
    modal: float | None = Field(description="The value most runs agree with (within tolerance).")
    mae: float | None = Field(description="Mean absolute error of the runs with a value, in the task's unit.")
    mape: float | None = Field(description="Mean absolute percent error (None when expected is 0).")
    answer_rate: float
    citation_rate: float
    scr: float = Field(description="Self-consistency rate: fraction of runs agreeing with the modal value.")
    kind: str = "property"
    accuracy: float = Field(0.0, description="Fraction of runs within 1 % of the expected value (compare/range: right).")
    scr_llamp: float | None = Field(None, description="LLaMP's SCR (module doc).")


class EvalReport(BaseModel):
    """Scores over all questions; MAE is per property because units differ across properties."""

    tasks: list[TaskResult]
    runs_per_task: int
    mae_by_property: dict[str, float] = Field(description="Property -> MAE over its answered runs (its unit).")
    mape: float | None = Field(description="Mean absolute percent error over answered runs with expected != 0.")
    answer_rate: float = Field(description="Fraction of runs whose answer holds a value.")
    citation_rate: float = Field(description="Fraction of runs citing the expected MP id.")
    scr: float = Field(description="Mean self-consistency rate over questions.")
    scr_llamp: float | None = Field(None, description="Mean LLaMP SCR over single-property questions.")
    by_property: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Property -> n, accuracy (within 1 %), citation, both, of single-property runs.")
    by_kind: dict[str, dict[str, float]] = Field(default_factory=dict, description="Kind -> n, accuracy of runs.")
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    composed_rate: float = 0.0
    repaired_rate: float = Field(0.0, description="Fraction of runs whose draft needed the model's repair round.")
    ids_added_rate: float = Field(0.0, description="Fraction of runs written by the model with MP ids added.")
    ungrounded_flagged: int = Field(0, description="Numbers flagged as ungrounded, over all runs.")
    ungrounded_unflagged: int = Field(0, description="Numbers no tool returned shown unflagged, over all runs.")


def load_tasks(path: Path) -> list[EvalTask]:
    """The tasks of a JSON file (a list of task objects); bad files raise ``InvalidInput``."""
    try:
        return TypeAdapter(list[EvalTask]).validate_json(Path(path).read_bytes())
    except FileNotFoundError:
        raise InvalidInput(f"tasks file not found: {path}") from None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"bad tasks file {path}: {where}: {first['msg']}") from None


def _scalar(value: Any) -> float | None:
    """A summary property as one number: moduli come as ``{"vrh": ...}`` (their Voigt-Reuss-Hill average)."""
    if isinstance(value, dict):
        value = value.get("vrh")
    return None if value is None else float(value)


def expected_values(tasks: list[EvalTask], mp: MPClient) -> dict[str, float]:
    """Task id -> reference value: the task's ``expected``, else its material's MP summary value."""
    lookup = [t for t in tasks if t.expected is None]
    docs: dict[str, dict[str, Any]] = {}
    if lookup:
        ids = sorted({t.material_id for t in lookup if t.material_id})
        found = mp.search("summary", limit=len(ids) + 1, material_ids=ids,
                          fields=["material_id", *sorted({t.property for t in lookup})])
        docs = {str(d["material_id"]): d for d in found}
    values = {}
    for t in tasks:
        value = t.expected if t.expected is not None else _scalar(docs.get(t.material_id or "", {}).get(t.property))
        if value is None:
            raise InvalidInput(f"task {t.id!r}: Materials Project has no {t.property} for {t.material_id}")
        values[t.id] = value
    return values


def _numbers(text: str) -> list[tuple[int, int, float]]:
    """``(start, end, value)`` of each standalone number in ``text``."""
    return [(m.start(), m.end(), float(m.group().replace("−", "-"))) for m in _NUMBER.finditer(text)]


def extract_value(answer: str, prop: str) -> float | None:
    """The number the answer reports for ``prop`` (the rule is in the module docstring).

    >>> extract_value("Si (mp-149) has a band gap of 0.85 eV and a density of 2.28 g/cm3.", "band_gap")
    0.85
    >>> extract_value("Fe2O3: density 5.1 g/cm3, formation energy −1.70 eV/atom.", "formation_energy_per_atom")
    -1.7
    """
    numbers = _numbers(answer)
    if not numbers:
        return None
    lowered = answer.lower()
    mentions = [(m.start(), m.end()) for term in PROPERTY_TERMS[prop] for m in re.finditer(re.escape(term), lowered)]
    if not mentions:
        return numbers[0][2]

    def distance(number: tuple[int, int, float]) -> tuple[int, int]:
        start, end, _ = number
        return min((start - m_end, 0) if start >= m_end else (m_start - end, 1) for m_start, m_end in mentions)

    return min(numbers, key=distance)[2]


def _agree(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def modal_value(values: Sequence[float | None]) -> tuple[float | None, int]:
    """The value most others agree with (within tolerance, first on ties) and how many agree with it.

    >>> modal_value([1.1, None, 2.0, 1.104, 1.1])
    (1.1, 3)
    """
    answered = [v for v in values if v is not None]
    if not answered:
        return None, 0
    counts = [sum(_agree(v, w) for w in answered) for v in answered]
    best = max(range(len(answered)), key=lambda i: (counts[i], -i))
    return answered[best], counts[best]


def within(value: float | None, expected: float) -> bool:
    """Whether ``value`` is within 1 % of ``expected`` (or ``ABS_TOL`` of it, for values near 0)."""
    return value is not None and math.isclose(value, expected, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def scr_llamp(values: Sequence[float | None], expected: float) -> float | None:
    """LLaMP's self-consistency of response (module doc) of one question's runs; None without values.

    >>> scr_llamp([2.0, 2.0], 2.0), round(scr_llamp([1.0, 3.0], 2.0), 3)
    (1.0, 0.5)
    """
    answered = [v for v in values if v is not None]
    if not answered:
        return None
    mean = fmean(answered)
    precision = max(0.0, 1 - pstdev(answered) / abs(mean)) if mean else float(pstdev(answered) == 0)
    accuracy = max(0.0, 1 - abs(mean - expected) / abs(expected)) if expected else float(abs(mean) <= ABS_TOL)
    return precision * accuracy


def score_task(task: EvalTask, expected: float, runs: list[RunResult]) -> TaskResult:
    """Errors, rates and self-consistency of one question's runs."""
    if not runs:
        raise InvalidInput(f"task {task.id!r} has no runs to score")
    errors = [abs(r.value - expected) for r in runs if r.value is not None]
    modal, agreeing = modal_value([r.value for r in runs])
    right = [r.correct if task.kind != "property" else within(r.value, expected) for r in runs]
    return TaskResult(
        id=task.id, material_id=task.material_id or "", property=task.property, unit=task.unit, expected=expected,
        runs=runs, modal=modal, mae=fmean(errors) if errors else None,
        mape=100 * fmean(errors) / abs(expected) if errors and expected != 0 else None,
        answer_rate=len(errors) / len(runs), citation_rate=sum(r.cited for r in runs) / len(runs),
        scr=agreeing / len(runs), kind=task.kind, accuracy=sum(bool(x) for x in right) / len(runs),
        scr_llamp=scr_llamp([r.value for r in runs], expected) if task.kind == "property" else None,
    )


def summarize(results: list[TaskResult], runs_per_task: int) -> EvalReport:
    """Overall scores: MAE per property and MAPE over the single-property questions (a range question's
    expected figure is not its answer's value), answer and citation rates over all runs, mean SCR."""
    if not results:
        raise InvalidInput("no task results to summarize")
    by_property: dict[str, list[float]] = {}
    percents: list[float] = []
    singles = [t for t in results if t.kind == "property"]
    for t in singles:
        for r in t.runs:
            if r.value is not None:
                by_property.setdefault(t.property, []).append(abs(r.value - t.expected))
                if t.expected != 0:
                    percents.append(100 * abs(r.value - t.expected) / abs(t.expected))
    runs = [r for t in results for r in t.runs]
    table: dict[str, dict[str, float]] = {}
    for prop in sorted({t.property for t in singles}):
        prop_runs = [(r, t.expected) for t in singles if t.property == prop for r in t.runs]
        table[prop] = {"n": len(prop_runs), "accuracy": sum(within(r.value, e) for r, e in prop_runs) / len(prop_runs),
                       "citation": sum(r.cited for r, _ in prop_runs) / len(prop_runs),
                       "both": sum(within(r.value, e) and r.cited for r, e in prop_runs) / len(prop_runs)}
    if singles:
        single_runs = [(r, t.expected) for t in singles for r in t.runs]
        table["all"] = {"n": len(single_runs),
                        "accuracy": sum(within(r.value, e) for r, e in single_runs) / len(single_runs),
                        "citation": sum(r.cited for r, _ in single_runs) / len(single_runs),
                        "both": sum(within(r.value, e) and r.cited for r, e in single_runs) / len(single_runs)}
    kinds = {}
    for kind in sorted({t.kind for t in results}):
        kind_runs = [r for t in results if t.kind == kind for r in t.runs]
        kinds[kind] = {"n": len(kind_runs), "accuracy": fmean(t.accuracy for t in results if t.kind == kind)}
    latencies = sorted(r.latency_s for r in runs if r.error is None)
    llamp = [t.scr_llamp for t in singles if t.scr_llamp is not None]
    return EvalReport(
        tasks=results, runs_per_task=runs_per_task,
        mae_by_property={p: fmean(e) for p, e in sorted(by_property.items())},
        mape=fmean(percents) if percents else None,
        answer_rate=sum(r.value is not None for r in runs) / len(runs),
        citation_rate=sum(r.cited for r in runs) / len(runs),
        scr=fmean(t.scr for t in results), scr_llamp=fmean(llamp) if llamp else None,
        by_property=table, by_kind=kinds,
        latency_p50_s=_percentile(latencies, 50), latency_p95_s=_percentile(latencies, 95),
        composed_rate=sum(r.composed for r in runs) / len(runs),
        repaired_rate=sum(r.repaired for r in runs) / len(runs),
        ids_added_rate=sum(r.ids_added for r in runs) / len(runs),
        ungrounded_flagged=sum(len(r.ungrounded) for r in runs),
        ungrounded_unflagged=sum(len(r.unflagged) for r in runs),
    )


def _percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile of sorted ``values`` (nearest rank)."""
    if not values:
        return None
    return values[min(len(values) - 1, max(0, math.ceil(q / 100 * len(values)) - 1))]


def _run_once(ask: Callable[[str], ChatAnswer], task: EvalTask, expected: float) -> RunResult:
    start = time.perf_counter()
    try:
        answer = ask(task.question)
    except MatlasError as err:
        return RunResult(value=None, cited=False, error=str(err), latency_s=time.perf_counter() - start)
    latency = time.perf_counter() - start
    results = [str(s["data"]["content"]) for s in answer.steps  # successful tool results are JSON objects
               if s.get("event") == "tool_result" and str(s["data"].get("content", "")).startswith("{")]
    shown = check_grounding(answer.content, [*results, task.question]).ungrounded
    correct = None
    if task.kind == "compare":
        correct = task.material_id in answer.citations and states_value(answer.content, expected)
    elif task.kind == "range":
        cited = set(re.findall(r"(?:mp|mvc)-\d+", answer.content))
        correct = cited == set(task.expected_ids)
    return RunResult(
        value=extract_value(answer.content, task.property), cited=bool(task.material_id)
        and task.material_id in answer.citations, answer=answer.content, correct=correct,
        tools=[s["data"]["tool"] for s in answer.steps if s.get("event") == "tool_call"], facts=len(answer.facts),
        ungrounded=answer.ungrounded, unflagged=[n for n in shown if n not in answer.ungrounded],
        composed=answer.composed, repaired=answer.repaired, ids_added=answer.ids_added, latency_s=latency,
    )


def run_eval(
    ask: Callable[[str], ChatAnswer], tasks: list[EvalTask], expected: dict[str, float], *, runs: int = 1,
    progress: Callable[[EvalTask, int], None] | None = None,
) -> EvalReport:
    """Ask every task's question ``runs`` times (``ask`` starts a fresh conversation) and score the answers.

    ``expected`` maps task id -> reference value; a failed run counts as one without a value.
    """
    if runs < 1:
        raise InvalidInput(f"runs must be >= 1, got {runs}")
    results = []
    for task in tasks:
        task_runs = []
        for i in range(runs):
            if progress is not None:
                progress(task, i)
            task_runs.append(_run_once(ask, task, expected[task.id]))
        results.append(score_task(task, expected[task.id], task_runs))
    return summarize(results, runs)
