"""``MicroBatcher``: concurrent requests that queue while a batch runs are answered by the next batch."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from retrieval.batching import MicroBatcher
from retrieval.service import SearchService


class GatedRun:
    """``run(key, items)`` that records each batch and holds the first one until ``release`` is set."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[int]]] = []
        self.started, self.release = threading.Event(), threading.Event()

    def __call__(self, key: str, items: list[int]) -> list[int]:
        self.batches.append((key, list(items)))
        self.started.set()
        self.release.wait(10)
        if -1 in items:
            raise ValueError("a bad item")
        return [10 * item for item in items]


def _submit_all(batcher, pool, pairs):
    """Each pair submitted from its own thread, in order: the next once the previous is queued."""
    with batcher._ready:
        queued = len(batcher._waiting)
    futures = []
    for key, item in pairs:
        futures.append(pool.submit(batcher.submit, key, item))
        queued += 1
        _wait_queued(batcher, queued)
    return futures


def _wait_queued(batcher, n):
    for _ in range(1000):
        with batcher._ready:
            if len(batcher._waiting) >= n:
                return
        threading.Event().wait(0.01)
    raise AssertionError(f"{n} items never queued")


def _hold(batcher, run, pool, key, item):
    """``item`` submitted and its batch running, held by ``run``'s gate: later items queue behind it."""
    first = pool.submit(batcher.submit, key, item)
    assert run.started.wait(10)
    return first


def test_items_queued_behind_a_batch_run_together_per_key_oldest_first():
    run = GatedRun()
    batcher = MicroBatcher(run, max_batch=3)
    with ThreadPoolExecutor(8) as pool:
        first = _hold(batcher, run, pool, "a", 0)
        queued = _submit_all(batcher, pool, [("a", 1), ("b", 2), ("a", 3), ("a", 4), ("a", 5)])
        run.release.set()
        assert first.result(10) == 0 and [f.result(10) for f in queued] == [10, 20, 30, 40, 50]
    # the lone first item ran at once; then the oldest key's items, at most 3, then the rest in arrival order
    assert run.batches == [("a", [0]), ("a", [1, 3, 4]), ("b", [2]), ("a", [5])]
    assert (batcher.batches, batcher.items) == (4, 6)


def test_a_failing_batch_fails_each_of_its_callers_and_the_worker_goes_on():
    run = GatedRun()
    batcher = MicroBatcher(run, max_batch=4)
    with ThreadPoolExecutor(4) as pool:
        first = _hold(batcher, run, pool, "a", 7)
        failing = _submit_all(batcher, pool, [("a", 1), ("a", -1)])
        run.release.set()
        assert first.result(10) == 70
        for future in failing:
            with pytest.raises(ValueError, match="a bad item"):
                future.result(10)
        assert batcher.submit("a", 2) == 20


def test_a_run_that_returns_the_wrong_count_is_an_error_not_a_wrong_answer():
    batcher = MicroBatcher(lambda key, items: [], max_batch=2)
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        batcher.submit("a", 1)


@pytest.mark.parametrize("bad", [{"max_batch": 0}, {"workers": 0}])
def test_sizes_must_be_positive(bad):
    with pytest.raises(ValueError):
        MicroBatcher(lambda key, items: items, **bad)


def test_concurrent_service_searches_batch_and_equal_one_at_a_time(built_index, encoder):
    """Searches queued behind a running one run as one ``rank_batch`` and get the hits each would get alone."""
    service = SearchService(built_index.parent, max_batch=16, batch_workers=1)
    service.encoders.add(encoder)
    searcher = service.searcher("mini")
    queries = ["blue LED semiconductor", "lithium battery cathode", "superconductor", "hard coating",
               "photovoltaic absorber", "magnet", "catalyst for water splitting"]
    alone = {q: searcher.search(q, 5) for q in queries}
    sizes, running, gate, real = [], threading.Event(), threading.Event(), searcher.rank_batch

    def rank_batch(batch, *args, **kwargs):
        sizes.append(len(batch))
        running.set()
        gate.wait(10)  # the first search holds the worker while the others queue
        return real(batch, *args, **kwargs)

    searcher.rank_batch = rank_batch
    with ThreadPoolExecutor(len(queries)) as pool:
        first = pool.submit(service.search, searcher, queries[0], 5)
        assert running.wait(10)
        rest = [pool.submit(service.search, searcher, q, 5) for q in queries[1:]]
        _wait_queued(service.batcher, len(rest))
        gate.set()
        answers = [first.result(30)] + [f.result(30) for f in rest]
    assert sizes == [1, len(rest)]
    for query, hits in zip(queries, answers):
        assert [h.id for h in hits] == [h.id for h in alone[query]]
        np.testing.assert_allclose([h.score for h in hits], [h.score for h in alone[query]], rtol=1e-5)


def test_a_bad_search_fails_alone_before_it_is_queued(built_index, encoder):
    service = SearchService(built_index.parent)
    service.encoders.add(encoder)
    searcher = service.searcher("mini")
    from matlas.errors import InvalidInput

    with pytest.raises(InvalidInput, match="k must be between"):
        service.search(searcher, "magnet", 0)
    assert service.batcher.items == 0
    assert [h.id for h in service.search(searcher, "blue LED semiconductor", 3)][:1] == ["gan"]
