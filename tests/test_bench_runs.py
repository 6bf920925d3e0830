"""Run folders, `textgym train/eval/bench`: contents, determinism, resume, bad input."""

from __future__ import annotations

import csv
import filecmp
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from textgym.bench.floors import floor_scores

pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

from textgym import __version__  # noqa: E402
from textgym.bench import suite as suite_module  # noqa: E402
from textgym.bench.config import (  # noqa: E402
    ConfigError,
    defaults,
    load_file,
    parse_overrides,
    parse_value,
    resolve,
)
from textgym.bench.runs import RunFolder, RunFolderError  # noqa: E402
from textgym.bench.train import evaluate_run, train  # noqa: E402
from textgym.cli import main  # noqa: E402

ENV = "TextDial-Easy-v0"


def tiny(algo: str, **extra: Any) -> dict[str, Any]:
    """A configuration that trains for seconds: two evaluations after step 0."""
    overrides: dict[str, Any] = {"algo": algo, "env_id": ENV, "eval": {"episodes": 4}}
    if algo in ("ppo", "maskable-ppo", "a2c", "dqn"):
        overrides.update(steps=256, n_envs=2)
        overrides["eval"]["every"] = 128
        overrides["hparams"] = {
            "ppo": {"n_steps": 32, "batch_size": 32},
            "maskable-ppo": {"n_steps": 32, "batch_size": 32},
            "a2c": {"n_steps": 8},
            "dqn": {"learning_starts": 64, "buffer_size": 1000, "train_freq": 4},
        }[algo]
        if algo == "maskable-ppo":
            overrides["mask"] = {"fit_samples": 200}
    else:
        overrides.update(steps=4, n_envs=4, eval_envs=4)
        overrides["eval"]["every"] = 2
        overrides["model"] = {"width": 16, "layers": 1, "heads": 2}
        if algo != "sup":
            overrides["warm_start"] = {"steps": 3}
        if algo == "scst":
            overrides["hparams"] = {"samples_per_prompt": 1}
        if algo == "ppo-lm":
            overrides["hparams"] = {"minibatch_size": 2, "epochs": 1}
    return resolve(overrides, extra)  # extra layered on top, as a config file and overrides


class Interrupt(Exception):
    pass


def interrupt_after(step: int):
    """A ``log`` hook that stops training once the evaluation at ``step`` is recorded, as a
    kill would (the checkpoint of that step is on disk)."""

    def log(line: str) -> None:
        if int(line.split()[1]) >= step:
            raise Interrupt

    return log


# -- configuration -----------------------------------------------------------------------------
def test_defaults_cover_every_algorithm_and_resolve_unchanged() -> None:
    from textgym.bench.config import ALGOS

    for algo in ALGOS:
        assert resolve(overrides={"algo": algo}) == defaults(algo)


def test_precedence_defaults_then_file_then_overrides(tmp_path: Path) -> None:
    file = tmp_path / "c.yaml"
    file.write_text("algo: ppo\nsteps: 1000\nhparams: {learning_rate: 0.01, n_steps: 16}\n")
    config = resolve(load_file(file), parse_overrides(["hparams.learning_rate=3e-4", "seed=7"]))
    assert config["algo"] == "ppo" and config["steps"] == 1000 and config["seed"] == 7
    assert config["hparams"]["learning_rate"] == 3e-4 and config["hparams"]["n_steps"] == 16
    assert config["hparams"]["batch_size"] == defaults("ppo")["hparams"]["batch_size"]


def test_any_argument_of_the_algorithm_is_a_valid_hparam() -> None:
    assert (
        resolve(overrides={"algo": "ppo", "hparams": {"clip_range": 0.1}})["hparams"]["clip_range"]
        == 0.1
    )
    assert (
        resolve(overrides={"algo": "scst", "hparams": {"kl_coef": 0.1}})["hparams"]["kl_coef"]
        == 0.1
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"algo": "ppo2"}, "unknown algorithm 'ppo2'.*Did you mean ppo"),
        ({"algo": "ppo", "hparams": {"lerning_rate": 1.0}}, "hparams.lerning_rate.*learning_rate"),
        ({"algo": "ppo", "eval": {"evry": 3}}, "unknown config key 'eval.evry'.*eval.every"),
        ({"algo": "ppo", "stepz": 3}, "unknown config key 'stepz'"),
        ({"algo": "ppo", "steps": "many"}, "steps: expected int"),
        ({"algo": "ppo", "steps": 0}, "steps: expected an integer >= 1"),
        ({"algo": "ppo", "eval": 5}, "eval: expected a mapping"),
        ({"algo": "ppo", "env_id": "TextTran-v0"}, "unknown env id 'TextTran-v0'.*TextTrans-v0"),
        ({"algo": "sup", "model": {"arch": "bert"}}, "model.arch: expected gpt2 or t5"),
        ({"algo": "ppo", "eval": {"split": "dev"}}, "eval.split"),
        ({"algo": "scst", "mask": {}}, "unknown config key 'mask'"),
        ({"algo": "scst", "model": {"device": "gpu"}}, "model.device: expected cpu, cuda or"),
        ({"algo": "scst", "model": {"device": "cuda:99"}}, "model.device: cuda:99 asked for"),
        ({"algo": "scst", "model": {"bf16": "yes"}}, "model.bf16: expected true, false or null"),
    ],
)
def test_bad_configurations_name_the_key(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve(overrides=overrides)


def test_override_parsing() -> None:
    assert parse_value("3e-4") == 3e-4 and parse_value("7") == 7 and parse_value("true") is True
    assert parse_value("none") is None and parse_value("dense") == "dense"
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_overrides(["a.b=1", "a.c=x"]) == {"a": {"b": 1, "c": "x"}}
    for bad in ("nokey", "=3", "a..b=1", "a-b=1"):
        with pytest.raises(ConfigError, match="expected key=value"):
            parse_overrides([bad])


def test_malformed_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_file(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("algo: [ppo\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_file(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- ppo\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_file(listed)


# -- one run -------------------------------------------------------------------------------------
def test_run_folder_contents(tmp_path: Path) -> None:
    config = tiny("maskable-ppo")
    result = train(config, tmp_path / "run")
    folder = RunFolder.open(result.path)
    assert folder.config() == config  # the YAML holds the resolved config exactly
    manifest = folder.manifest()
    assert manifest["status"] == "finished" and manifest["seed"] == 0
    assert manifest["textgym_version"] == __version__
    for package in ("python", "gymnasium", "torch", "stable-baselines3", "transformers"):
        assert manifest["versions"][package]
    assert manifest["machine"]["cpus"] >= 1 and "git_commit" in manifest
    rows = folder.metrics()
    assert [r["step"] for r in rows] == [0, 128, 256]
    assert rows[0]["train/episode_return"] is None  # nothing trained at step 0
    assert all(r["train/episode_return"] is not None for r in rows[1:])
    assert {"eval/score", "eval/bleu", "eval/f1", "episodes"} <= set(rows[0])
    assert rows[-1]["eval/score"] == pytest.approx(result.summary["eval/score"])
    predictions = (result.path / "predictions.jsonl").read_text().splitlines()
    assert len(predictions) == 4
    first = json.loads(predictions[0])
    assert {"prediction", "references", "metrics", "source", "sample_id"} <= set(first)
    assert (result.path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(result.path / "events"))
    events.Reload()
    scores = events.Scalars("eval/score")
    assert [e.step for e in scores] == [0, 128, 256]
    assert scores[-1].value == pytest.approx(result.summary["eval/score"], rel=1e-6)
    assert "perf/steps_per_second" in events.Tags()["scalars"]
    assert {p.name for p in folder.checkpoints.iterdir()} == {"latest.pt", "final.pt"}
    assert not list(result.path.rglob("*.tmp"))  # atomic writes leave no temporaries


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn", "maskable-ppo", "sup", "scst", "ppo-lm"])
def test_same_seed_identical_and_resume_identical(tmp_path: Path, algo: str) -> None:
    config = tiny(algo)
    first = train(config, tmp_path / "a")
    second = train(config, tmp_path / "b")
    assert filecmp.cmp(first.path / "metrics.csv", second.path / "metrics.csv", shallow=False)

    with pytest.raises(Interrupt):
        train(config, tmp_path / "c", log=interrupt_after(config["eval"]["every"]))
    interrupted = RunFolder(tmp_path / "c")
    assert interrupted.summary() is None and len(interrupted.metrics()) == 2
    resumed = train(None, tmp_path / "c", resume=True)
    assert resumed.resumed_from == config["eval"]["every"] or algo in ("ppo", "a2c", "dqn")
    assert filecmp.cmp(first.path / "metrics.csv", resumed.path / "metrics.csv", shallow=False)
    assert resumed.summary["eval/score"] == first.summary["eval/score"]
    # Training moved something: a resume that skipped training could not match otherwise.
    rows = RunFolder(first.path).metrics()
    assert len({r["eval/score"] for r in rows} | {r.get("train/episode_return") for r in rows}) > 2


def test_other_seed_differs(tmp_path: Path) -> None:
    a = train(tiny("ppo"), tmp_path / "a")
    b = train(tiny("ppo", seed=1), tmp_path / "b")
    assert (a.path / "metrics.csv").read_text() != (b.path / "metrics.csv").read_text()


def test_resuming_a_finished_run_changes_nothing(tmp_path: Path) -> None:
    result = train(tiny("sup"), tmp_path / "run")
    before = {p: p.read_bytes() for p in result.path.rglob("*") if p.is_file()}
    again = train(None, tmp_path / "run", resume=True)
    assert again.summary == result.summary
    assert {p: p.read_bytes() for p in result.path.rglob("*") if p.is_file()} == before


def test_eval_device_override(tmp_path: Path) -> None:
    run = train(tiny("sup"), tmp_path / "run").path
    on_cpu = evaluate_run(run, split="test", episodes=3, device="cpu")
    assert on_cpu == evaluate_run(run, split="test", episodes=3)
    with pytest.raises(ConfigError, match="model.device: expected cpu, cuda or cuda:N"):
        evaluate_run(run, split="test", episodes=3, device="tpu")
    with pytest.raises(ConfigError, match="model.device: cuda:99 asked for"):
        evaluate_run(run, split="test", episodes=3, device="cuda:99")
    sb3 = train(tiny("ppo"), tmp_path / "sb3").path
    with pytest.raises(ValueError, match="--device: SB3 runs evaluate on the CPU"):
        evaluate_run(sb3, split="test", episodes=3, device="cpu")


def test_eval_writes_split_metrics_and_predictions(tmp_path: Path) -> None:
    run = train(tiny("ppo"), tmp_path / "run").path
    result = evaluate_run(run, split="test", episodes=3)
    assert result["split"] == "test" and result["eval/num_samples"] == 3.0
    assert json.loads((run / "eval_test.json").read_text())["eval/score"] == result["eval/score"]
    assert len((run / "predictions_test.jsonl").read_text().splitlines()) == 3
    # The same checkpoint evaluated twice gives the same numbers.
    assert evaluate_run(run, split="test", episodes=3) == result


# -- bad input -----------------------------------------------------------------------------------
def test_existing_folders_are_never_overwritten_without_force(tmp_path: Path) -> None:
    run = train(tiny("sup"), tmp_path / "run").path
    metrics = (run / "metrics.csv").read_bytes()
    with pytest.raises(RunFolderError, match="--resume.*--force"):
        train(tiny("sup", seed=3), run)
    assert (run / "metrics.csv").read_bytes() == metrics
    train(tiny("sup", seed=3), run, force=True)
    assert RunFolder(run).config()["seed"] == 3

    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("precious")
    with pytest.raises(RunFolderError, match="not a textgym run folder"):
        train(tiny("sup"), other, force=True)
    assert (other / "notes.txt").read_text() == "precious"


def test_rejected_hparams_leave_no_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="hparams: PPO rejected"):
        train(tiny("ppo", hparams={"clip_range": "wide"}), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_newer_run_folders_are_refused(tmp_path: Path) -> None:
    run = train(tiny("sup"), tmp_path / "run").path
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["textgym_version"] = "99.0.0"
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RunFolderError, match="textgym 99.0.0.*newer"):
        evaluate_run(run)
    with pytest.raises(RunFolderError, match="newer"):
        train(None, run, resume=True)
    assert evaluate_run(run, force=True)["eval/num_samples"] == 4.0


def test_missing_checkpoints_are_named(tmp_path: Path) -> None:
    config = tiny("sup")
    with pytest.raises(Interrupt):
        train(config, tmp_path / "run", log=interrupt_after(2))
    with pytest.raises(RunFolderError, match="missing checkpoint final.pt.*--checkpoint latest"):
        evaluate_run(tmp_path / "run")
    assert evaluate_run(tmp_path / "run", checkpoint="latest")["step"] == 2
    (tmp_path / "run" / "checkpoints" / "latest.pt").unlink()
    with pytest.raises(RunFolderError, match="saved no checkpoint"):
        evaluate_run(tmp_path / "run", checkpoint="latest")
    with pytest.raises(RunFolderError, match="not a textgym run folder"):
        evaluate_run(tmp_path)
    with pytest.raises(RunFolderError, match="no such run folder"):
        evaluate_run(tmp_path / "nowhere")


def test_resume_refuses_a_different_config(tmp_path: Path) -> None:
    with pytest.raises(Interrupt):
        train(tiny("sup"), tmp_path / "run", log=interrupt_after(2))
    with pytest.raises(RunFolderError, match="stored config.yaml"):
        train(tiny("sup", seed=5), tmp_path / "run", resume=True)


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path, monkeypatch) -> None:
    from textgym import _io

    target = tmp_path / "metrics.csv"
    _io.atomic_write_text(target, "step\n0\n")

    def crash(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(_io.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        _io.atomic_write_text(target, "step\n0\n1\n")
    assert target.read_text() == "step\n0\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]


# -- CLI -----------------------------------------------------------------------------------------
def test_cli_train_eval_and_errors(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    argv = ["train", ENV, "--algo", "sup", "--steps", "2", "--out", str(out), "--json",
            "eval.every=1", "eval.episodes=2", "model.width=16", "model.layers=1",
            "model.heads=2", "n_envs=2", "eval_envs=2"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["step"] == 2 and summary["run"] == str(out)
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [r["step"] for r in rows] == ["0", "1", "2"]
    assert yaml.safe_load((out / "config.yaml").read_text())["model"]["width"] == 16

    assert main(["eval", str(out), "--split", "validation", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["split"] == "validation"

    for bad, message in [
        (["train", ENV, "--algo", "sup", "--out", str(out)], "exists and is not empty"),
        (["train", "TextNope-v0", "--algo", "sup", "--out", str(tmp_path / "x")], "unknown env"),
        (["train", ENV, "--algo", "sac", "--out", str(tmp_path / "x")], "unknown algorithm"),
        (["train", ENV, "--algo", "sup", "--out", str(tmp_path / "x"), "lr"], "one ENV_ID"),
        (["train", ENV, "--algo", "sup", "--out", str(tmp_path / "x"), "x.y=1"], "unknown config"),
        (["train", "--resume", str(out), "--steps", "9"], "stored config.yaml"),
        (["train", ENV, "--algo", "sup"], "--out DIR"),
        (["eval", str(tmp_path / "none")], "no such run folder"),
        (["eval", str(out), "--split", "dev"], "--split"),
    ]:
        assert main(bad) == 2, bad
        assert message in capsys.readouterr().err, bad
    assert not (tmp_path / "x").exists()


# -- suites --------------------------------------------------------------------------------------
@pytest.fixture
def tiny_suite(monkeypatch) -> str:
    suite = suite_module.Suite(
        name="tiny",
        env_ids=(ENV,),
        algos=("ppo", "sup"),
        seeds=(0, 1),
        overrides={
            "ppo": {
                "steps": 128,
                "n_envs": 2,
                "eval": {"every": 64},
                "hparams": {"n_steps": 32, "batch_size": 32},
            },
            "sup": {
                "steps": 2,
                "n_envs": 2,
                "eval_envs": 4,
                "eval": {"every": 2},
                "model": {"width": 16, "layers": 1, "heads": 2},
            },
        },  # fmt: skip
        common={"eval": {"episodes": 4, "split": "validation"}},
    )
    monkeypatch.setitem(suite_module.SUITES, "tiny", suite)
    return "tiny"


def test_suite_runs_aggregates_and_resumes(tmp_path: Path, tiny_suite: str) -> None:
    lines: list[str] = []
    report = suite_module.run_suite(tiny_suite, tmp_path, log=lines.append)
    assert len(report.runs) == 4 and sum("[" in line for line in lines) == 4
    assert set(report.baselines[ENV]) == {
        "random", "reference", "floors", "constant_text", "strongest_floor",
        "strongest_blind_floor",
    }
    assert report.baselines[ENV]["reference"] == pytest.approx(1.0)
    table = (tmp_path / "results.md").read_text()
    # The floors table, and a verdict per (env, algo) against the strongest floor.
    strongest = report.baselines[ENV]["strongest_floor"]
    assert f"| {strongest['policy']} {strongest['score']:.3f} |" in table
    verdicts = [
        line for line in table.splitlines()
        if line.startswith(f"| {ENV} | ") and f"| {strongest['policy']} " in line
    ]
    assert len(verdicts) == 2  # ppo and sup
    for line in verdicts:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert {cells[5], cells[7]} <= {"yes", "IQM only", "no"}
    assert "| IQM" in table.replace("IQM |", "| IQM") and "ppo" in table and "all" in table
    assert "textgym bench --suite tiny" in table
    assert (tmp_path / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    results = json.loads((tmp_path / "results.json").read_text())
    assert {s["algo"] for s in results["summaries"]} == {"ppo", "sup"}

    # Resumable: finished runs are skipped, a lost one is redone, identical results.
    lost = suite_module.run_folder(tmp_path, ENV, "ppo", 1)
    metrics = (lost / "metrics.csv").read_bytes()
    (lost / "summary.json").unlink()
    lines.clear()
    again = suite_module.run_suite(tiny_suite, tmp_path, log=lines.append)
    assert sum("[" in line for line in lines) == 1 and "ppo seed 1" in lines[1]
    assert (lost / "metrics.csv").read_bytes() == metrics
    assert again.table == report.table

    with pytest.raises(RunFolderError, match="holds another suite"):
        suite_module.run_suite(tiny_suite, tmp_path, seeds=[5])


def test_cli_bench(tmp_path: Path, tiny_suite: str, capsys) -> None:
    assert main(["bench", "--suite", tiny_suite, "--out", str(tmp_path), "--seeds", "0"]) == 0
    printed = capsys.readouterr().out
    assert "[2/2]" in printed and "| all" in printed.replace("|   all", "| all")
    # Everything finished: a re-run only aggregates, and --json prints the numbers.
    assert main(["bench", "--suite", tiny_suite, "--out", str(tmp_path), "--seeds", "0",
                 "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert len(report["runs"]) == 2 and report["baselines"][ENV]["reference"] > 0.99
    for bad, message in [
        (["bench", "--suite", "huge", "--out", str(tmp_path)], "--suite"),
        (["bench", "--suite", tiny_suite, "--out", str(tmp_path), "--seeds", "a"], "--seeds"),
        (["bench", "--suite", tiny_suite, "--out", str(tmp_path), "--seeds", "3"], "another"),
    ]:
        assert main(bad) == 2
        assert message in capsys.readouterr().err


def test_baselines_play_the_evaluation_episodes() -> None:
    from textgym.bench.rollout import rollout

    fixed = rollout(ENV, "reference", 5, seed=0, env_kwargs={"split": "validation"},
                    fixed_samples=True)  # fmt: skip
    assert fixed.episodes == 5 and fixed.mean == pytest.approx(1.0)
    # The same samples whatever the seed: only the random policy's draws depend on it.
    a = rollout(ENV, "random", 20, seed=0, env_kwargs={"split": "validation"}, fixed_samples=True)
    b = rollout(ENV, "random", 20, seed=0, env_kwargs={"split": "validation"}, fixed_samples=True)
    assert a.scores == b.scores
    scores = suite_module.baseline_scores(ENV, "validation", 20)
    assert scores["random"] == a.mean and scores["reference"] == pytest.approx(1.0)
    # The floors are scored on the same 20 evaluation samples, with the suite's seed.
    floors = floor_scores(ENV, samples=20, split="validation", seed=0)
    assert scores["floors"] == {k: v for k, v in floors.scores.items() if k != "reference"}
    assert scores["constant_text"] == floors.constant_text
    strongest = dict(zip(("policy", "score"), floors.strongest, strict=True))
    assert scores["strongest_floor"] == strongest
    blind = dict(zip(("policy", "score"), floors.strongest_blind, strict=True))
    assert scores["strongest_blind_floor"] == blind
    assert blind["policy"] != "shuffled_reference" and blind["score"] <= strongest["score"]
