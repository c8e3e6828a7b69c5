"""Skip policy: under ``CI=true`` a skipped test fails unless the reason is hardware (CUDA / a GPU) or
``../shared`` data. A missing Redis, Chromium, model package or any other real part the install brings
must fail CI instead of passing silently. Outside CI skips stay skips, listed by ``-ra``.

``tests/conftest.py`` imports these hooks; they can also be loaded with ``-p tests._support.skip_policy``.
"""

from __future__ import annotations

import os
import re

import pytest

ALLOWED = re.compile(r"\bCUDA\b|\bGPU\b|\.\./shared", re.IGNORECASE)


def strict() -> bool:
    """True on CI (``CI=true``, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _reason(longrepr) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _enforce(report) -> None:
    if report.skipped and not hasattr(report, "wasxfail") and strict():
        reason = _reason(report.longrepr)
        if not ALLOWED.search(reason):
            report.outcome = "failed"
            report.longrepr = (f"skipped under CI=true, where only CUDA/GPU and ../shared may skip: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _enforce(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _enforce(outcome.get_result())
