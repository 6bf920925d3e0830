"""The ``textgym`` command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import textgym
from textgym.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_list_shows_every_id_with_a_description(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "list")
    assert status == 0
    for env_id in textgym.ENV_IDS:
        assert env_id in out
    status, out, _ = run_cli(capsys, "list", "--json")
    assert json.loads(out) == textgym.ENV_IDS


def test_info_reports_spaces_reward_and_ceiling(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "info", "TextSumm-v0", "--json", "-k", "reward_mode=dense")
    info = json.loads(out)
    assert status == 0
    assert info["reward"] == "rougeL" and info["reward_mode"] == "dense"
    assert info["action_space"] == f"Discrete({info['vocab_size']})"
    assert info["observation_space"]["generated_ids"] == [info["max_new_tokens"]]
    assert "1.0" in info["ceiling"]


@pytest.mark.parametrize("env_id", textgym.BENCHMARK)
def test_rollout_reference_is_one_and_random_is_far_below(
    capsys: pytest.CaptureFixture[str], env_id: str
) -> None:
    _, out, _ = run_cli(capsys, "rollout", env_id, "--policy", "reference", "--episodes", "5",
                        "--json")  # fmt: skip
    ref = json.loads(out)
    assert ref["mean"] == pytest.approx(1.0) and ref["std"] == pytest.approx(0.0, abs=1e-12)
    _, out, _ = run_cli(capsys, "rollout", env_id, "--episodes", "10", "--seed", "3", "--json")
    rnd = json.loads(out)
    assert rnd["episodes"] == 10 and len(rnd["scores"]) == 10
    assert rnd["mean"] < 0.2
    # Same seed, same numbers.
    _, again, _ = run_cli(capsys, "rollout", env_id, "--episodes", "10", "--seed", "3", "--json")
    assert json.loads(again) == rnd


def test_user_errors_exit_2_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(capsys, "info", "TextSum-v0")
    assert status == 2 and "unknown env id 'TextSum-v0'" in err and "TextSumm-v0" in err
    status, _, err = run_cli(capsys, "rollout", "TextTrans-v0", "-k", "reward=blue")
    assert status == 2 and "unknown metric 'blue'" in err
    status, _, err = run_cli(capsys, "rollout", "TextTrans-v0", "-k", "oops")
    assert status == 2 and "expected key=value" in err
    status, _, err = run_cli(capsys, "rollout", "TextTrans-v0", "--episodes", "0")
    assert status == 2 and "--episodes" in err


def test_baselines_prints_a_table_per_family() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "textgym.cli", "baselines", "--episodes", "3"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = [line for line in out.splitlines() if line.startswith("| Text")]
    # Per family: random, reference, the seven degenerate policies, the strongest of them and
    # the strongest of those that need no reference (input-blind).
    assert len(rows) == 3 * 11
    assert all(" 1.0000 " in row for row in rows if "| reference " in row)
    floors = [row for row in rows if "strongest floor" in row]
    assert len(floors) == 3
    assert all(float(row.split("|")[3]) < 0.5 for row in floors)
