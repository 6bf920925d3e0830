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


def test_real_tasks_table_sets_every_model_against_its_floors(monkeypatch) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import real_tasks

    def scores(f1: float) -> dict[str, float]:
        return {"bleu": 0.1, "f1": f1, "seconds": 60.0}

    cells = [
        {"family": "dial", "corpus": "dailydialog", "init": "pretrained", "seed": seed,
         "sft_seconds": 120.0, "warm": scores(warm), "scst": scores(scst)}
        for seed, warm, scst in [(0, 5.0, 9.0), (1, 6.0, 5.5), (2, 4.0, 4.5)]
    ]  # fmt: skip
    floors = {"dial": {"constant_text": "thank | you.", "policies": {
        "other_reference": {"bleu": 1.0, "f1": 8.0}, "empty": {"bleu": 0.0, "f1": 0.0},
        "constant": {"bleu": 0.2, "f1": 5.2},
    }}}  # fmt: skip
    rows = real_tasks.summarise(cells, ["scst"], floors)
    by_stage = {row["stage"]: row for row in rows}
    # The strongest blind floor on the headline metric (F1) is another sample's reference.
    assert by_stage["warm"]["above_floor_seeds"] == 0
    assert by_stage["scst"]["above_floor_seeds"] == 1  # only seed 0's 9.0 clears 8.0
    assert by_stage["scst"]["improved_seeds"] == 2
    floor_stages = [row["stage"] for row in rows if "floor" in row]
    assert floor_stages == ["floor: empty", "floor: constant ('thank | you.')",
                            "floor: other_reference"]  # fmt: skip
    assert [row["strongest"] for row in rows if "floor" in row] == [False, False, True]
    table = real_tasks.markdown(rows)
    assert "| 2/3 | 1/3 | 1.0 |" in table  # the scst row: improved, above the floor, minutes
    assert "thank \\| you." in table  # a constant's "|" cannot break the table
    assert all(line.count(" | ") == 6 for line in table.splitlines()[2:])


def test_real_tasks_selection_keeps_the_best_validated_state(monkeypatch) -> None:
    """--val-samples: the RL stage's tested state is the best on validation, the warm start
    (iteration 0) unless a later log record scored higher."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import real_tasks

    class Policy:
        def __init__(self) -> None:
            self.weights = {"w": [0]}

        def state_dict(self) -> dict:
            return self.weights

    policy = Policy()
    scores = iter([4.0, 6.5, 6.0])
    selection = real_tasks.Selection(policy, lambda: next(scores), 5.0, {"w": ["warm"]})
    selection.record({"iteration": 3})  # 4.0: below the warm start
    assert (selection.iteration, selection.state) == (0, {"w": ["warm"]})
    policy.weights = {"w": [6]}
    selection.record({"iteration": 6})  # 6.5: the best so far, copied
    policy.weights["w"].append("changed later")
    selection.record({"iteration": 9})  # 6.0
    assert (selection.iteration, selection.best, selection.state) == (6, 6.5, {"w": [6]})
    assert selection.history == [(0, 5.0), (3, 4.0), (6, 6.5), (9, 6.0)]
