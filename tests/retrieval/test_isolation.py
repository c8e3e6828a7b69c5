"""``IsolatedCalls``: a crash or an overrun in a child costs one call, and the next call is served."""

import os
import time

import pytest

from matlas.errors import InvalidInput
from retrieval.isolation import IsolatedCalls
from tests._support.child_calls import behave


@pytest.fixture
def calls():
    isolated = IsolatedCalls(behave, workers=1, timeout_s=3, what="the test call")
    yield isolated
    isolated.close()


def test_results_and_typed_errors_come_back(calls):
    assert calls("ok", 41) == 42
    assert calls("pid") != os.getpid()
    with pytest.raises(InvalidInput, match="bad value 7"):
        calls("invalid", 7)
    with pytest.raises(InvalidInput, match="KeyError"):
        calls("bug")
    assert calls("ok", 1) == 2


def test_a_crashing_child_is_replaced(calls):
    before = calls("pid")
    with pytest.raises(InvalidInput, match="crashed"):
        calls("segfault")
    assert calls("ok", 1) == 2 and calls("pid") != before


def test_an_overrunning_child_is_stopped_within_the_bound(calls):
    before = calls("pid")
    start = time.monotonic()
    with pytest.raises(InvalidInput, match="longer than 3 s"):
        calls("hang")
    assert time.monotonic() - start < 6
    with pytest.raises(ProcessLookupError):
        os.kill(before, 0)  # the hung child is gone
    assert calls("ok", 2) == 3
