"""Benchmark scripts run end to end in their quick mode (numbers are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script", ["throughput.py", "metrics.py"])
def test_benchmark_quick_mode_runs(script: str) -> None:
    path = ROOT / "benchmarks" / script
    out = subprocess.run(
        [sys.executable, str(path), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert len(out.stdout.strip().splitlines()) >= 3, out.stdout  # printed its table
