"""Settings shared by every test file."""

from __future__ import annotations

import os
from typing import Any

import pytest

# `make test-lowest` and `make test-latest` set TEXTGYM_COMPAT=1. There every extra is
# installed, so a test that skips because a dependency fails to import (`importorskip`) has found
# an incompatible dependency set, not a missing extra: it fails the run instead of passing
# quietly.
COMPAT = os.environ.get("TEXTGYM_COMPAT") == "1"


def _import_skip(report: Any) -> str | None:
    if not (COMPAT and report.skipped):
        return None
    longrepr = report.longrepr
    reason = str(longrepr[-1]) if isinstance(longrepr, tuple) else str(longrepr)
    return reason if "could not import" in reason else None


def _fail(report: Any, reason: str) -> None:
    report.outcome = "failed"
    report.longrepr = f"TEXTGYM_COMPAT=1: a dependency fails to import in this set: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    outcome = yield
    report = outcome.get_result()
    reason = _import_skip(report)
    if reason is not None:
        _fail(report, reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    reason = _import_skip(report)
    if reason is not None:
        _fail(report, reason)
