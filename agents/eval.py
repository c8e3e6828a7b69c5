"""LLaMP-style evaluation of the chat agent: ask each question several times, read the reported value,
and score it against Materials Project (error, citation of the expected MP id, self-consistency).

Value extraction rule (``extract_value``): the answer's numbers are the decimal literals that are not
part of a word, a formula or an id (``mp-149``, ``LiFePO4``, ``Fe2O3`` contribute none); the reported
value is the number closest, in characters, to a mention of the property (``band gap``, ``formation
energy``, ``bulk modulus``...), a number after the mention winning a tie. Without a mention it is the
first number; without numbers the run has no value. Values are read as given, in the task's unit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import fmean
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, field_validator

from agents.chat import ChatAnswer
from matlas.errors import InvalidInput, MatlasError

if TYPE_CHECKING:
    from matlas.settings import Settings

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
    "summarize",
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
}
DEFAULT_TASKS = Path(__file__).parent / "data" / "eval_tasks.json"
REL_TOL = 0.01  # two runs agree when within 1 % (or ABS_TOL in the task's unit)
ABS_TOL = 0.005

_NUMBER = re.compile(r"(?<![\w.\-−])[-−]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])")


class EvalTask(BaseModel):
    """One question whose answer is a single MP property value of one material."""

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    material_id: str = Field(pattern=r"^(mp|mvc)-\d+$", description="The MP id the answer should cite.")
    property: str = Field(description=f"One of {sorted(PROPERTY_TERMS)}.")
    unit: str = Field(description="Unit of the expected value and of the value read from answers.")
    expected: float | None = Field(None, description="Reference value; default: looked up from MP.")

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


class EvalReport(BaseModel):
    """Scores over all questions; MAE is per property because units differ across properties."""

    tasks: list[TaskResult]
    runs_per_task: int
    mae_by_property: dict[str, float] = Field(description="Property -> MAE over its answered runs (its unit).")
    mape: float | None = Field(description="Mean absolute percent error over answered runs with expected != 0.")
    answer_rate: float = Field(description="Fraction of runs whose answer holds a value.")
    citation_rate: float = Field(description="Fraction of runs citing the expected MP id.")
    scr: float = Field(description="Mean self-consistency rate over questions.")


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


def expected_values(tasks: list[EvalTask], settings: Settings) -> dict[str, float]:
    """Task id -> reference value: the task's ``expected``, else its material's MP summary value."""
    from agents.mp.client import open_rester

    lookup = [t for t in tasks if t.expected is None]
    docs: dict[str, dict[str, Any]] = {}
    if lookup:
        with open_rester(settings, use_document_model=False) as mpr:
            found = mpr.materials.summary.search(material_ids=sorted({t.material_id for t in lookup}),
                                                 fields=["material_id", *sorted({t.property for t in lookup})])
        docs = {str(d["material_id"]): d for d in found}
    values = {}
    for t in tasks:
        value = t.expected if t.expected is not None else _scalar(docs.get(t.material_id, {}).get(t.property))
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


def score_task(task: EvalTask, expected: float, runs: list[RunResult]) -> TaskResult:
    """Errors, rates and self-consistency of one question's runs."""
    if not runs:
        raise InvalidInput(f"task {task.id!r} has no runs to score")
    errors = [abs(r.value - expected) for r in runs if r.value is not None]
    modal, agreeing = modal_value([r.value for r in runs])
    return TaskResult(
        id=task.id, material_id=task.material_id, property=task.property, unit=task.unit, expected=expected,
        runs=runs, modal=modal, mae=fmean(errors) if errors else None,
        mape=100 * fmean(errors) / abs(expected) if errors and expected != 0 else None,
        answer_rate=len(errors) / len(runs), citation_rate=sum(r.cited for r in runs) / len(runs),
        scr=agreeing / len(runs),
    )


def summarize(results: list[TaskResult], runs_per_task: int) -> EvalReport:
    """Overall scores: MAE per property, MAPE, answer and citation rates over all runs, mean SCR."""
    if not results:
        raise InvalidInput("no task results to summarize")
    by_property: dict[str, list[float]] = {}
    percents: list[float] = []
    for t in results:
        for r in t.runs:
            if r.value is not None:
                by_property.setdefault(t.property, []).append(abs(r.value - t.expected))
                if t.expected != 0:
                    percents.append(100 * abs(r.value - t.expected) / abs(t.expected))
    runs = [r for t in results for r in t.runs]
    return EvalReport(
        tasks=results, runs_per_task=runs_per_task,
        mae_by_property={p: fmean(e) for p, e in sorted(by_property.items())},
        mape=fmean(percents) if percents else None,
        answer_rate=sum(r.value is not None for r in runs) / len(runs),
        citation_rate=sum(r.cited for r in runs) / len(runs),
        scr=fmean(t.scr for t in results),
    )


def _run_once(ask: Callable[[str], ChatAnswer], task: EvalTask) -> RunResult:
    try:
        answer = ask(task.question)
    except MatlasError as err:
        return RunResult(value=None, cited=False, error=str(err))
    return RunResult(value=extract_value(answer.content, task.property), cited=task.material_id in answer.citations,
                     answer=answer.content)


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
            task_runs.append(_run_once(ask, task))
        results.append(score_task(task, expected[task.id], task_runs))
    return summarize(results, runs)
