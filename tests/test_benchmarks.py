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


def test_lm_learning_uses_tuned_settings_unless_a_flag_is_given(monkeypatch) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import lm_learning

    argv = ["lm_learning.py", "--ppo-lr", "3e-5", "--scst-iterations=7"]
    monkeypatch.setattr(sys, "argv", argv)
    args = lm_learning.parse_args()
    assert args.explicit == ["ppo_lr", "scst_iterations"]
    dial = lm_learning.settings_for(args, "TextDial-Easy-v0")
    tuned = lm_learning.TUNED["TextDial-Easy-v0"]
    assert (dial.ppo_lr, dial.scst_iterations) == (3e-5, 7)  # given on the command line
    assert (dial.ppo_envs, dial.scst_kl_coef) == (tuned["ppo_envs"], tuned["scst_kl_coef"])
    trans = lm_learning.settings_for(args, "TextTrans-Easy-v0")  # no tuned settings
    assert (trans.ppo_envs, trans.scst_kl_coef) == (lm_learning.Args.ppo_envs, 0.0)
    monkeypatch.setattr(sys, "argv", ["lm_learning.py", "--quick"])
    quick = lm_learning.parse_args()
    assert lm_learning.settings_for(quick, "TextDial-Easy-v0") == quick  # smoke budgets kept
