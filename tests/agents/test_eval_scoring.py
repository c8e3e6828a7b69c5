"""agents.eval scoring against figures computed by hand: compare and range tasks, what one run records
from an answer, the summary tables, nearest-rank percentiles, the 1 % rule, and LLaMP's SCR at and
around zero."""

import json
import time

import pytest

from agents.eval import (
    EvalTask,
    RunResult,
    expected_values,
    extract_value,
    modal_value,
    run_eval,
    score_task,
    scr_llamp,
    summarize,
    within,
)
from agents.turns import ChatAnswer
from matlas.errors import InvalidInput, UpstreamError
from matlas.wiring import mp_client


def answers(*items: ChatAnswer | Exception):
    """An ``ask`` that returns (or raises) ``items`` in turn, whatever the question."""
    queue = list(items)

    def ask(question: str) -> ChatAnswer:
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return ask


def tool_steps(tool: str, content: str) -> list[dict]:
    return [{"event": "route", "data": {"expert": "x"}},
            {"event": "tool_call", "data": {"tool": tool, "args": {}}},
            {"event": "tool_result", "data": {"tool": tool, "content": content}}]


def single(prop="band_gap", material_id="mp-149", id_="t", unit="eV") -> EvalTask:
    return EvalTask(id=id_, question="?", material_id=material_id, property=prop, unit=unit)


COMPARE = EvalTask(id="cmp", kind="compare", question="Which has the larger band gap, Si (mp-149) or GaN (mp-804)?",
                   material_id="mp-804", others=["mp-149"], property="band_gap", unit="eV")
RANGE = EvalTask(id="rng", kind="range", question="Which materials have a band gap between 1 and 2 eV?",
                 material_id=None, expected_ids=["mp-1", "mp-2"], property="band_gap", unit="eV")


def test_compare_is_right_only_with_the_winner_cited_and_its_value_stated():
    ask = answers(
        ChatAnswer(content="GaN [mp-804] has the larger band gap, 1.73 eV, against 0.61 eV for Si [mp-149].",
                   citations=["mp-804", "mp-149"]),
        ChatAnswer(content="Si [mp-149] has the larger band gap, 1.73 eV.", citations=["mp-149"]),  # wrong winner
        ChatAnswer(content="GaN [mp-804] has the larger band gap, 2.5 eV.", citations=["mp-804"]),  # wrong value
        ChatAnswer(content="GaN (mp-804) has the larger band gap, 1.73 eV.", citations=[]),  # not cited
    )
    report = run_eval(ask, [COMPARE], {"cmp": 1.73}, runs=4)
    [result] = report.tasks
    assert [r.correct for r in result.runs] == [True, False, False, False]
    assert [r.cited for r in result.runs] == [True, False, True, False]
    assert result.accuracy == 0.25 and result.scr_llamp is None  # LLaMP's SCR is for single values only
    assert report.by_kind == {"compare": {"n": 4, "accuracy": 0.25}}
    assert report.by_property == {} and report.scr_llamp is None  # no single-property task


def test_range_is_right_only_with_exactly_the_expected_ids():
    ask = answers(
        ChatAnswer(content="mp-2 and mp-1 have band gaps between 1 and 2 eV."),
        ChatAnswer(content="Only mp-1 does."),
        ChatAnswer(content="mp-1, mp-2 and mp-3 do."),
        ChatAnswer(content="mvc-1 and mp-1 and mp-2 do."),
    )
    [result] = run_eval(ask, [RANGE], {"rng": 1.5}, runs=4).tasks
    assert [r.correct for r in result.runs] == [True, False, False, False]
    assert not any(r.cited for r in result.runs)  # a range task has no material of its own to cite
    assert result.material_id == "" and result.accuracy == 0.25


def test_a_run_records_tools_facts_and_the_numbers_no_tool_returned():
    task = EvalTask(id="si", question="Band gap of Si (mp-149) at 300 K?", material_id="mp-149",
                    property="band_gap", unit="eV")
    steps = [*tool_steps("get_band_structure_summary", json.dumps({"results": [{"material_id": "mp-149",
                                                                                "band_gap": 0.61}]})),
             *tool_steps("get_thermo", "Error: 9.9 eV is what a failed tool said")]  # not a result: grounds nothing
    content = "At 300 K, Si [mp-149] has a band gap of 0.61 eV; 9.9 eV and 7.7 eV are not from MP."
    ask = answers(ChatAnswer(content=content, citations=["mp-149"], steps=steps, ungrounded=["7.7 eV"], composed=True,
                             facts=[{"value": 0.61}, {"value": 1}]))
    start = time.perf_counter()
    [run] = run_eval(ask, [task], {"si": 0.61}).tasks[0].runs
    elapsed = time.perf_counter() - start
    assert run.tools == ["get_band_structure_summary", "get_thermo"]
    assert (run.value, run.cited, run.facts, run.composed, run.error, run.correct) == (0.61, True, 2, True, None, None)
    assert run.ungrounded == ["7.7 eV"]  # flagged by the agent
    assert run.unflagged == ["9.9 eV"]  # 300 is the question's own number; 9.9 came only from a failed tool
    assert run.answer == content and 0 < run.latency_s <= elapsed


def test_a_failed_run_has_no_value_and_the_error_text():
    ask = answers(UpstreamError("model endpoint down"), ChatAnswer(content="Si [mp-149]: band gap 0.6 eV.",
                                                                   citations=["mp-149"]))
    seen = []
    start = time.perf_counter()
    report = run_eval(ask, [single()], {"t": 0.61}, runs=2, progress=lambda task, i: seen.append((task.id, i)))
    elapsed = time.perf_counter() - start
    failed, answered = report.tasks[0].runs
    assert 0 < failed.latency_s <= elapsed
    assert (failed.value, failed.cited, failed.error) == (None, False, "model endpoint down")
    assert (answered.value, answered.cited, answered.error) == (0.6, True, None)
    assert seen == [("t", 0), ("t", 1)]


def test_summary_tables_on_hand_made_runs():
    gap = score_task(single(id_="a"), 2.0, [
        RunResult(value=2.0, cited=True, latency_s=1.0, composed=True, ungrounded=["3.1"]),
        RunResult(value=2.5, cited=True, latency_s=2.0, unflagged=["4.4", "5.5"]),
        RunResult(value=2.01, cited=False, latency_s=3.0),
        RunResult(value=None, cited=False, error="boom", latency_s=100.0),  # errors are left out of latency
    ])
    gap2 = score_task(single(id_="b", material_id="mp-804"), 3.0, [
        RunResult(value=3.0, cited=True, latency_s=4.0), RunResult(value=3.0, cited=True, latency_s=5.0),
        RunResult(value=3.0, cited=False, latency_s=6.0), RunResult(value=3.3, cited=True, latency_s=7.0)])
    modulus = score_task(single("bulk_modulus", id_="c", unit="GPa"), 100.0, [
        RunResult(value=100.0, cited=False, latency_s=8.0), RunResult(value=50.0, cited=True, latency_s=9.0),
        RunResult(value=100.5, cited=True, latency_s=10.0), RunResult(value=None, cited=False, latency_s=11.0)])
    compare = score_task(COMPARE, 1.73, [RunResult(value=1.73, cited=True, correct=True, latency_s=12.0),
                                         RunResult(value=0.61, cited=False, correct=False, latency_s=13.0),
                                         RunResult(value=None, cited=False, correct=None, latency_s=14.0),
                                         RunResult(value=1.73, cited=True, correct=True, latency_s=15.0)])
    report = summarize([gap, gap2, modulus, compare], runs_per_task=4)
    # band gap: a within (2.0, 2.01), cited (2.0, 2.5); b within (3.0 x3), cited (1st, 2nd, 4th)
    assert report.by_property["band_gap"] == pytest.approx({"n": 8, "accuracy": 5 / 8, "citation": 5 / 8,
                                                            "both": 3 / 8})
    assert report.by_property["bulk_modulus"] == pytest.approx({"n": 4, "accuracy": 2 / 4, "citation": 2 / 4,
                                                                "both": 1 / 4})
    assert report.by_property["all"] == pytest.approx({"n": 12, "accuracy": 7 / 12, "citation": 7 / 12,
                                                       "both": 4 / 12})
    assert set(report.by_property) == {"band_gap", "bulk_modulus", "all"}  # the compare task is not a single value
    assert set(report.by_kind) == {"property", "compare"}
    assert report.by_kind["property"] == pytest.approx({"n": 12, "accuracy": (2 / 4 + 3 / 4 + 2 / 4) / 3})
    assert report.by_kind["compare"] == {"n": 4, "accuracy": 2 / 4}
    assert report.composed_rate == 1 / 16
    assert (report.ungrounded_flagged, report.ungrounded_unflagged) == (1, 2)
    assert report.latency_p50_s == 8.0  # nearest rank: the 8th of 1..15 s, without the failed run's 100 s
    assert report.latency_p95_s == 15.0
    sigma_a = ((0.17 ** 2 + 0.33 ** 2 + 0.16 ** 2) / 3) ** 0.5  # mean 2.17
    assert gap.scr_llamp == pytest.approx((1 - sigma_a / 2.17) * (1 - 0.17 / 2.0))
    assert report.scr_llamp == pytest.approx((gap.scr_llamp + gap2.scr_llamp + modulus.scr_llamp) / 3)
    assert report.answer_rate == 13 / 16 and report.citation_rate == 9 / 16


def test_nearest_rank_percentiles_of_two_runs():
    result = score_task(single(), 1.0, [RunResult(value=1.0, cited=True, latency_s=t) for t in (4.0, 1.0)])
    report = summarize([result], runs_per_task=2)
    assert (report.latency_p50_s, report.latency_p95_s) == (1.0, 4.0)
    for n, p95 in ((17, 17.0), (20, 19.0)):  # nearest rank: ceil(0.95 n)-th of 1..n s
        many = score_task(single(), 1.0, [RunResult(value=1.0, cited=True, latency_s=float(t)) for t in range(1, n + 1)])
        assert summarize([many], runs_per_task=n).latency_p95_s == p95
    silent = summarize([score_task(single(), 1.0, [RunResult(value=None, cited=False, error="x")])], runs_per_task=1)
    assert (silent.latency_p50_s, silent.latency_p95_s, silent.scr_llamp) == (None, None, None)


@pytest.mark.parametrize("value,expected,inside", [
    (2.019, 2.0, True), (2.021, 2.0, False), (1.981, 2.0, True), (1.979, 2.0, False),  # 1 % of 2.0 is 0.02
    (0.0049, 0.0, True), (0.0051, 0.0, False), (-0.0049, 0.0, True),  # near zero: 0.005 absolute
    (None, 1.0, False),
])
def test_within_is_one_percent_or_five_thousandths(value, expected, inside):
    assert within(value, expected) is inside


@pytest.mark.parametrize("values,expected,scr", [
    ([0.0, 0.0], 0.0, 1.0),  # mean 0 and no spread: fully precise; expected 0 and mean 0: accurate
    ([-0.1, 0.1], 0.0, 0.0),  # mean 0 with spread: no precision
    ([0.003], 0.0, 1.0),  # within 0.005 of an expected 0
    ([0.005], 0.0, 1.0),  # ... 0.005 included
    ([0.01], 0.0, 0.0),
    ([3.0], 2.0, 0.5),  # 1 - |3 - 2| / 2
    ([5.0], 2.0, 0.0),  # clipped at 0
    ([-2.2, -1.8], -2.0, 0.9),  # sigma 0.2 over |mean| 2
    ([-1.5], -2.0, 0.75),  # 1 - 0.5 / |-2|
    ([4.0, None, 4.0], 4.0, 1.0),  # runs without a value are left out
    ([None], 1.0, None),
])
def test_llamp_scr_by_hand(values, expected, scr):
    got = scr_llamp(values, expected)
    assert got == (None if scr is None else pytest.approx(scr))


def test_nothing_to_score_is_refused():
    with pytest.raises(InvalidInput, match="has no runs"):
        score_task(single(), 1.0, [])
    with pytest.raises(InvalidInput, match=r"^no task results to summarize$"):
        summarize([], runs_per_task=1)
    with pytest.raises(InvalidInput, match="runs must be >= 1"):
        run_eval(answers(), [single()], {"t": 1.0}, runs=0)


def test_expected_moduli_are_the_vrh_average(mp_settings, sample):
    tasks = [single("bulk_modulus", id_="k", unit="GPa"), single("shear_modulus", id_="g", unit="GPa"),
             single("density", "mp-804", id_="rho", unit="g/cm3")]
    assert expected_values(tasks, mp_client(mp_settings)) == {
        "k": sample["mp-149"]["bulk_modulus"]["vrh"], "g": sample["mp-149"]["shear_modulus"]["vrh"],
        "rho": sample["mp-804"]["density"]}


def test_runs_agree_within_one_percent_or_five_thousandths():
    assert modal_value([100.0, 100.9, 98.0]) == (100.0, 2)  # 0.9 % apart: agree; 2 % apart: not
    assert modal_value([0.004, 0.0, 0.02]) == (0.004, 2)  # near zero, 0.005 absolute


def test_the_number_nearest_the_mention_wins_even_before_it():
    answer = "In the Materials Project data for crystalline silicon, 0.61 eV is the band gap, for a cell of 2 atoms."
    assert extract_value(answer, "band_gap") == 0.61
