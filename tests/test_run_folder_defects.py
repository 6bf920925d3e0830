"""Run folders lose nothing: kills at any write, stale temporaries, concurrent use, bad env
overrides and broken stored configs, and SB3 budgets rounded to whole rollouts."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

from test_bench_runs import ENV, Interrupt, interrupt_after, tiny  # noqa: E402

from textgym.bench.runs import RunFolder  # noqa: E402
from textgym.bench.train import train  # noqa: E402
from textgym.cli import main  # noqa: E402

# A child process that trains and dies like `kill -9` (os._exit: no finally, no atexit) right
# after (or, with "before", right in the middle of) the nth atomic replace of a file.
_CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path

    config, out, name, nth, when, hang = json.loads(sys.argv[1])
    real_replace = os.replace
    seen = 0

    def replace(src, dst, *args, **kwargs):
        global seen
        hit = Path(dst).name == name and (seen := seen + 1) == nth
        if hit and when == "before":
            os._exit(9)  # the temporary file is complete, the rename never happens
        real_replace(src, dst, *args, **kwargs)
        if hit:
            os._exit(9)

    os.replace = replace

    def log(line):
        if hang:  # hold the run folder: tell the test, then wait to be killed
            Path(hang).write_text("ready")
            time.sleep(120)

    from textgym.bench.train import train

    train(config, out, resume=config is None, log=log)
    """
)


def child(
    config: dict[str, Any] | None,
    out: Path,
    *,
    name: str = "",
    nth: int = 0,
    when: str = "after",
    hang: Path | None = None,
) -> subprocess.Popen:
    """Start :data:`_CHILD` (training ``config`` into ``out``, or resuming ``out``)."""
    args = json.dumps([config, str(out), name, nth, when, str(hang) if hang else None])
    return subprocess.Popen([sys.executable, "-c", _CHILD, args], cwd=Path(__file__).parent)


def killed(config: dict[str, Any], out: Path, name: str, nth: int, when: str = "after") -> None:
    proc = child(config, out, name=name, nth=nth, when=when)
    assert proc.wait(timeout=300) == 9, "the child was meant to die at the chosen write"


def tensorboard_steps(run: Path, tag: str = "eval/score") -> list[int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "events"))
    events.Reload()
    return [e.step for e in events.Scalars(tag)]


def small() -> dict[str, Any]:
    """Tiny PPO, smaller still (the child processes spend their time importing torch):
    evaluations at 0, 64 and 128 env steps, checkpoints at 64 and 128."""
    return tiny("ppo", steps=128, eval={"every": 64, "episodes": 2})


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted :func:`small` run: what every crashed-and-resumed run must end as."""
    return train(small(), tmp_path_factory.mktemp("ref") / "run").path


# -- 1. a run is finished only once everything final is written --------------------------------
@pytest.mark.parametrize(
    ("name", "nth"),
    [
        ("final.pt", 1),  # the final checkpoint is on disk, the final metrics row is not
        ("latest.pt", 2),  # the final state is in latest.pt, final.pt is not written yet
        ("summary.json", 1),  # finished, but the manifest still says running
    ],
)
def test_kill_after_a_final_write_then_resume_completes_exactly(
    tmp_path: Path, reference: Path, capsys: pytest.CaptureFixture[str], name: str, nth: int
) -> None:
    run = tmp_path / "run"
    killed(small(), run, name, nth)
    assert main(["train", "--resume", str(run)]) == 0
    printed = capsys.readouterr().out
    if name != "summary.json":  # the summary is the finish line: before it, nothing is done
        assert "already finished" not in printed
    for file in ("metrics.csv", "predictions.jsonl"):
        assert (run / file).read_bytes() == (reference / file).read_bytes(), file
    summary, expected = RunFolder(run).summary(), RunFolder(reference).summary()
    assert summary is not None and expected is not None
    timing = ("seconds_this_session", "resumed_from")
    assert {k: v for k, v in summary.items() if k not in timing} == {
        k: v for k, v in expected.items() if k not in timing
    }
    assert {p.name for p in (run / "checkpoints").iterdir()} == {"latest.pt", "final.pt"}
    assert (run / "curves.png").is_file() and RunFolder(run).manifest()["status"] == "finished"
    assert tensorboard_steps(run) == [0, 64, 128]  # no row missing, none twice
    assert not list(run.rglob("*.tmp"))


def test_a_session_resumed_within_the_same_second_logs_after_the_killed_one(
    tmp_path: Path, reference: Path
) -> None:
    """TensorBoard reads event files in name order (creation second, host, pid): a killed
    session's file dated this very second, from a host that sorts after ours, must still be
    read first. CI once resumed within the same second and read the steps as [128, 0, 64]."""
    run = tmp_path / "run"
    killed(small(), run, "latest.pt", 2)
    (old,) = (run / "events").iterdir()
    stamp = int(time.time())
    old.rename(old.with_name(f"events.out.tfevents.{stamp:010d}.zzzz-host.99999.0"))
    assert main(["train", "--resume", str(run)]) == 0
    assert tensorboard_steps(run) == [0, 64, 128]
    assert (run / "metrics.csv").read_bytes() == (reference / "metrics.csv").read_bytes()


def test_resume_completes_a_run_whose_final_row_was_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The final row, summary and curves deleted after a finished run come back, exactly, from
    the final checkpoint and without retraining."""
    from textgym.bench.lm_driver import LMDriver

    run = train(tiny("sup"), tmp_path / "run").path
    metrics = (run / "metrics.csv").read_bytes()
    lines = metrics.decode().splitlines(keepends=True)
    (run / "metrics.csv").write_text("".join(lines[:-1]))
    for file in ("summary.json", "curves.png"):
        (run / file).unlink()

    def retrain(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the final checkpoint needs no training")

    monkeypatch.setattr(LMDriver, "train_until", retrain)
    result = train(None, run, resume=True)
    assert (run / "metrics.csv").read_bytes() == metrics
    assert result.summary == RunFolder(run).summary() and (run / "curves.png").is_file()


# -- 2. temporary files never pile up ------------------------------------------------------------
def test_a_kill_during_a_checkpoint_write_leaves_no_temporary_after_resume(
    tmp_path: Path, reference: Path
) -> None:
    run = tmp_path / "run"
    killed(small(), run, "latest.pt", 2, when="before")
    stale = list((run / "checkpoints").glob(".latest.pt.*.tmp"))
    assert len(stale) == 1 and stale[0].stat().st_size > 100_000
    # Not left by an atomic write of the run: kept.
    keep = [run / "notes.tmp", run / ".eval_test.json.abcd1234.tmp"]
    for file in keep:
        file.write_text("mine")
    train(None, run, resume=True)
    assert not stale[0].exists() and all(file.exists() for file in keep)
    assert (run / "metrics.csv").read_bytes() == (reference / "metrics.csv").read_bytes()


def test_atomic_writes_remove_their_temporary_on_any_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textgym import _io

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_io.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _io.atomic_write_bytes(tmp_path / "latest.pt", b"x" * 1000)
    assert list(tmp_path.iterdir()) == []


# -- 3. one process per run folder ---------------------------------------------------------------
def hold(config: dict[str, Any] | None, run: Path, tmp_path: Path) -> subprocess.Popen:
    """A child training into (or resuming) ``run`` that waits, holding it, at its first log."""
    ready = tmp_path / "ready"
    proc = child(config, run, hang=ready)
    deadline = time.monotonic() + 300
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the child did not start"
        time.sleep(0.1)
    return proc


def test_a_second_resume_of_a_folder_in_use_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    with pytest.raises(Interrupt):
        train(small(), run, log=interrupt_after(64))
    proc = hold(None, run, tmp_path)
    try:
        temporary = run / "checkpoints" / ".latest.pt.abcd1234.tmp"  # the holder's, maybe
        temporary.write_bytes(b"partial")
        assert main(["train", "--resume", str(run)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("textgym: error: ") and "Traceback" not in err
        assert f"is in use by another process (pid {proc.pid})" in err and str(run) in err
        assert temporary.exists()  # only the folder's holder may clean up
    finally:
        proc.kill()
        proc.wait()
    # A killed holder leaves no lock behind.
    assert main(["train", "--resume", str(run)]) == 0
    assert tensorboard_steps(run) == [0, 64, 128] and not temporary.exists()


def test_out_on_a_folder_in_use_is_refused_even_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    proc = hold(small(), run, tmp_path)
    try:
        argv = ["train", ENV, "--algo", "sup", "--steps", "2", "--out", str(run), "--force"]
        assert main(argv) == 2
        assert f"is in use by another process (pid {proc.pid})" in capsys.readouterr().err
        assert RunFolder(run).config()["algo"] == "ppo"  # not deleted under the holder's feet
        assert main(argv[:-1]) == 2
        assert f"in use by another process (pid {proc.pid})" in capsys.readouterr().err
    finally:
        proc.kill()
        proc.wait()


# -- 4. env overrides and stored configs fail as CLI errors --------------------------------------
@pytest.mark.parametrize(
    ("algo", "override"),
    [("ppo", "env.max_new_tokens=-3"), ("ppo", "env.bogus=1"), ("sup", "env.max_new_tokens=0")],
)
def test_env_overrides_the_env_rejects_are_cli_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], algo: str, override: str
) -> None:
    out = tmp_path / "run"
    assert main(["train", "TextSumm-Easy-v0", "--algo", algo, "--out", str(out), override]) == 2
    err = capsys.readouterr().err
    assert err.startswith("textgym: error: ") and "Traceback" not in err
    assert override.split("=")[0] in err
    assert not out.exists()


@pytest.mark.parametrize(
    "broken",
    ["algo: [ppo\n", "steps: many\n", "eval: {episodes: 0}\n", "env: {max_new_tokens: -3}\n"],
)
def test_a_broken_stored_config_names_the_run_folder_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], broken: str
) -> None:
    run = train(tiny("sup"), tmp_path / "run").path
    config = run / "config.yaml"
    # The broken key replaces the stored one (YAML keeps the last of a repeated key).
    config.write_text(config.read_text() + broken)
    for argv in (["eval", str(run)], ["train", "--resume", str(run)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert str(config) in err and "--config" not in err and "Traceback" not in err, err


# -- 5. SB3 budgets: whole rollouts, announced and recorded --------------------------------------
def test_sb3_steps_rounded_to_whole_rollouts_are_announced_and_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = ["train", ENV, "--algo", "ppo", "--steps", "200", "--out", str(out), "n_envs=2",
            "hparams.n_steps=32", "hparams.batch_size=32", "eval.every=100",
            "eval.episodes=2"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "--steps 200 is rounded up to 256" in err and "32 steps x 2 envs" in err
    summary = RunFolder(out).summary()
    assert summary is not None and summary["step"] == 256 and summary["steps_requested"] == 200
    manifest = RunFolder(out).manifest()
    assert manifest["steps_requested"] == 200 and manifest["steps_planned"] == 256
    assert [r["step"] for r in RunFolder(out).metrics()] == [0, 128, 256]


def test_exact_budgets_print_no_rounding_notice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", ENV, "--algo", "sup", "--steps", "2", "--out", str(tmp_path / "run"),
            "eval.every=1", "eval.episodes=2", "model.width=16", "model.layers=1",
            "model.heads=2", "n_envs=2", "eval_envs=2"]  # fmt: skip
    assert main(argv) == 0
    assert "rounded" not in capsys.readouterr().err
    summary = RunFolder(tmp_path / "run").summary()
    assert summary is not None and summary["steps_requested"] == summary["step"] == 2
