"""RLlib agents in the training harness: `textgym train ENV --algo rllib-ppo/rllib-appo`.

Needs RLlib (its own virtual environment, see ``make test-rllib``); the default run skips the
file. One Ray instance serves the whole module; runs are tiny (2 envs, 64-step iterations) so
that the file takes a few minutes on a loaded 2-core machine, most of it Ray starting actors.
"""

from __future__ import annotations

import csv
import filecmp
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("ray.rllib")
torch = pytest.importorskip("torch")

import ray  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402
from ray.rllib.core.rl_module.rl_module import RLModuleSpec  # noqa: E402

from textgym.bench.config import ConfigError, resolve  # noqa: E402
from textgym.bench.rllib_driver import RLlibDriver, training_arguments  # noqa: E402
from textgym.bench.runs import RunFolder  # noqa: E402
from textgym.bench.train import evaluate_run, train  # noqa: E402
from textgym.cli import main  # noqa: E402
from textgym.policies.rllib import TokenAPPORLModule, TokenRLModule  # noqa: E402

ENV = "TextDial-Easy-v0"
# What an SB3 run's metrics.csv holds on this env (tests/test_bench_runs.py runs them).
SB3_COLUMNS = [
    "step", "env_steps", "episodes", "train/episode_length", "train/episode_return",
    "eval/score", "eval/bleu", "eval/f1", "eval/length", "eval/num_samples",
]  # fmt: skip


def tiny(algo: str = "rllib-ppo", **extra: Any) -> dict[str, Any]:
    """Two evaluations after step 0, one remote env runner with two envs."""
    hparams: dict[str, Any] = {"train_batch_size_per_learner": 64}
    if algo == "rllib-ppo":
        hparams.update(minibatch_size=32, num_epochs=1)
    overrides = {
        "algo": algo, "env_id": ENV, "steps": 256, "eval": {"every": 128, "episodes": 4},
        "rllib": {"n_env_runners": 1, "envs_per_runner": 2}, "hparams": hparams,
        # A small network: the test is about the harness, not learning.
        "policy": {"embed_dim": 16, "hidden_dim": 32, "features_dim": 32, "head_dim": 16},
    }  # fmt: skip
    return resolve(overrides, extra)


class Interrupt(Exception):
    pass


def interrupt_after(step: int):
    """A ``log`` hook that stops training once the evaluation at ``step`` is recorded."""

    def log(line: str) -> None:
        if int(line.split()[1]) >= step:
            raise Interrupt

    return log


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    # One instance for the module (the driver starts one only when none is running); CPUs are
    # counted, not reserved: the runner and the driver fit on a loaded 2-core machine.
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def finished_run(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tiny(), tmp_path_factory.mktemp("rllib") / "run").path


# -- the RLModule --------------------------------------------------------------------------------
def _batch(env_id: str, n: int = 4) -> tuple[gym.spaces.Dict, gym.Space, dict[str, Any]]:
    envs = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    obs, _ = envs.reset(seed=0)
    obs, *_ = envs.step(np.arange(n) + 5)  # something generated: not only start tokens
    spaces = envs.single_observation_space, envs.single_action_space
    envs.close()
    return (*spaces, {k: torch.as_tensor(v) for k, v in obs.items()})


def test_module_gives_logits_over_the_vocabulary_and_values() -> None:
    obs_space, action_space, obs = _batch("TextTrans-Easy-v0")
    module = RLModuleSpec(
        module_class=TokenRLModule, observation_space=obs_space, action_space=action_space
    ).build()
    out = module.forward_train({Columns.OBS: obs})
    logits = out[Columns.ACTION_DIST_INPUTS]
    assert logits.shape == (4, action_space.n) and torch.isfinite(logits).all()
    values = module.compute_values({Columns.OBS: obs}, embeddings=out[Columns.EMBEDDINGS])
    assert values.shape == (4,)
    assert torch.allclose(values, module.compute_values({Columns.OBS: obs}))
    # The token ids are embedded, not read as floats: one id changed changes the logits.
    other = {k: v.clone() for k, v in obs.items()}
    other["prompt_ids"][0, 0] = (other["prompt_ids"][0, 0] + 1) % action_space.n
    changed = module.forward_inference({Columns.OBS: other})[Columns.ACTION_DIST_INPUTS]
    assert not torch.allclose(changed[0], logits[0].detach()) and torch.allclose(
        changed[1:], logits[1:].detach()
    )
    # The first policy is close to uniform (SB3's initialisation of the policy's last layer).
    probs = torch.softmax(logits.detach(), dim=-1)
    assert float(probs.max()) < 5.0 / action_space.n
    # Env runners get the module without its value head.
    inference = RLModuleSpec(
        module_class=TokenRLModule, observation_space=obs_space, action_space=action_space,
        inference_only=True,
    ).build()  # fmt: skip
    assert not hasattr(inference, "vf")
    inference.set_state(module.get_state(inference_only=True))
    assert torch.equal(
        inference.forward_inference({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS],
        module.forward_inference({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS],
    )


def test_module_masks_actions_and_appo_has_a_target_policy() -> None:
    obs_space, action_space, obs = _batch("TextTrans-Easy-v0")
    masked_space = gym.spaces.Dict(
        {**obs_space.spaces, "action_mask": gym.spaces.Box(0, 1, (action_space.n,), np.int8)}
    )
    mask = torch.zeros(4, action_space.n, dtype=torch.int8)
    mask[:, [2, 7]] = 1
    module = RLModuleSpec(
        module_class=TokenAPPORLModule, observation_space=masked_space, action_space=action_space,
        model_config={"attention": False, "context_tokens": 1},
    ).build()  # fmt: skip
    module.make_target_networks()
    batch = {Columns.OBS: {**obs, "action_mask": mask}}
    logits = module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
    assert set(logits.argmax(-1).tolist()) <= {2, 7}
    assert torch.softmax(logits, -1)[:, [2, 7]].sum(-1).allclose(torch.ones(4))
    target = module.forward_target(batch)["target_network_action_dist_inputs"]
    assert torch.allclose(target, logits)  # the target starts as a copy
    assert {"vf", "_old_encoder", "_old_pi"} <= set(module.get_non_inference_attributes())


def test_module_rejects_what_it_cannot_encode() -> None:
    obs_space, action_space, _ = _batch("TextTrans-Easy-v0")

    def build(**kwargs: Any) -> Any:
        spec = {"observation_space": obs_space, "action_space": action_space, **kwargs}
        return RLModuleSpec(module_class=TokenRLModule, **spec).build()

    with pytest.raises(ValueError, match=r"unknown model_config key\(s\) \['embed'\]"):
        build(model_config={"embed": 8})
    with pytest.raises(ValueError, match="conv_kernel: expected an odd integer"):
        build(model_config={"conv_kernel": 2})
    flat = gym.spaces.Box(0, 1, (5,))
    with pytest.raises(ValueError, match="expected the Dict space of a textgym env"):
        build(observation_space=flat)


# -- configuration -------------------------------------------------------------------------------
def test_driver_config_reaches_rllib() -> None:
    config = tiny(rllib={"n_env_runners": 2, "envs_per_runner": 2, "rollout_fragment_length": 16})
    driver = RLlibDriver(config)
    try:
        rllib = driver.algorithm_config
        assert rllib.env == f"textgym:{ENV}"  # remote runners import textgym themselves
        assert rllib.gym_env_vectorize_mode == "vector_entry_point"
        assert (rllib.num_env_runners, rllib.num_envs_per_env_runner) == (2, 2)
        assert rllib.rollout_fragment_length == 16 and rllib.sample_timeout_s == 600.0
        assert (rllib.num_learners, rllib.num_gpus_per_learner) == (0, 0.0)
        assert rllib.env_config["info_references"] is False  # no answers for the agent
        assert rllib.lr == 1e-3 and rllib.gamma == 1.0 and rllib.use_kl_loss is False
    finally:
        driver.close()
    assert "entropy_coeff" in training_arguments("rllib-ppo")
    assert "circular_buffer_num_batches" in training_arguments("rllib-appo")
    assert "lr" in training_arguments("rllib-appo")  # AlgorithmConfig's, through IMPALA's


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hparams": {"lrr": 1e-3}}, r"'hparams.lrr'.*Did you mean hparams.lr\?"),
        ({"rllib": {"n_runners": 2}}, r"'rllib.n_runners'.*Did you mean rllib.n_env_runners\?"),
        ({"rllib": {"n_env_runners": -1}}, "rllib.n_env_runners: expected a number >= 0"),
        ({"rllib": {"envs_per_runner": 0}}, "rllib.envs_per_runner: expected an integer >= 1"),
        ({"rllib": {"n_env_runners": 1.5}}, "rllib.n_env_runners: expected int"),
        ({"rllib": {"rollout_fragment_length": 0}}, "rllib.rollout_fragment_length: expected null"),
        ({"rllib": {"sample_timeout_s": 0}}, "rllib.sample_timeout_s: expected seconds > 0"),
        ({"n_envs": 4}, "unknown config key 'n_envs' for --algo rllib-ppo"),
    ],
)
def test_bad_configurations_name_the_key(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        tiny(**overrides)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"policy": {"embed": 8}}, r"policy: unknown model_config key\(s\) \['embed'\]"),
        ({"hparams": {"minibatch_size": 1000}}, "RLlib's PPOConfig rejected them.*minibatch"),
        ({"hparams": {"entropy_coeff": -0.1}}, "RLlib's PPOConfig rejected them.*entropy_coeff"),
    ],
)
def test_rejected_configurations_leave_no_folder(
    tmp_path: Path, overrides: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        train(tiny(**overrides), tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_gpu_learners_need_a_gpu() -> None:
    with pytest.raises(ConfigError, match="rllib.num_gpus_per_learner: 1.0 x 1 learner"):
        tiny(rllib={"num_gpus_per_learner": 1})


# -- runs ----------------------------------------------------------------------------------------
def test_run_folder_matches_an_sb3_run(finished_run: Path) -> None:
    folder = RunFolder.open(finished_run)
    assert folder.manifest()["status"] == "finished"
    with (finished_run / "metrics.csv").open() as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == SB3_COLUMNS
    assert [int(r["step"]) for r in rows] == [0, 128, 256]
    assert rows[0]["train/episode_return"] == ""  # nothing trained at step 0
    assert all(r["train/episode_return"] for r in rows[1:])
    assert int(rows[-1]["episodes"]) > 0
    summary = folder.summary()
    assert summary["algo"] == "rllib-ppo" and summary["unit"].startswith("env steps")
    assert summary["eval/score"] == pytest.approx(float(rows[-1]["eval/score"]))
    assert len((finished_run / "predictions.jsonl").read_text().splitlines()) == 4
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(finished_run / "events"))
    events.Reload()
    assert [e.step for e in events.Scalars("eval/score")] == [0, 128, 256]
    # The harness's checkpoints name RLlib's: the last one (and the one before it) are kept.
    checkpoints = folder.checkpoints
    assert {"latest.pt", "final.pt", "rllib"} == {p.name for p in checkpoints.iterdir()}
    saved = sorted(p.name for p in (checkpoints / "rllib").iterdir())
    assert saved == ["step_0000000128", "step_0000000256"]
    assert (checkpoints / "rllib" / saved[-1] / "rllib_checkpoint.json").is_file()
    assert not list(finished_run.rglob("*.tmp"))


def test_sb3_run_has_the_same_columns(tmp_path: Path) -> None:
    pytest.importorskip("stable_baselines3")
    config = resolve({
        "algo": "ppo", "env_id": ENV, "steps": 128, "n_envs": 2,
        "eval": {"every": 64, "episodes": 4}, "hparams": {"n_steps": 32, "batch_size": 32},
    })  # fmt: skip
    run = train(config, tmp_path / "sb3").path
    with (run / "metrics.csv").open() as handle:
        assert csv.DictReader(handle).fieldnames == SB3_COLUMNS


def test_eval_on_the_run(finished_run: Path, capsys: pytest.CaptureFixture) -> None:
    result = evaluate_run(finished_run, split="test", episodes=3)
    assert result["algo"] == "rllib-ppo" and result["step"] == 256
    assert result["eval/num_samples"] == 3.0 and 0.0 <= result["eval/score"] <= 1.0
    assert len((finished_run / "predictions_test.jsonl").read_text().splitlines()) == 3
    # Greedy: the same predictions again; the final validation predictions are the run's own.
    assert evaluate_run(finished_run, split="test", episodes=3) == result
    again = evaluate_run(finished_run, split="validation", checkpoint="latest")
    assert again["eval/score"] == RunFolder(finished_run).summary()["eval/score"]
    assert main(["eval", str(finished_run), "--split", "test", "--episodes", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["eval/num_samples"] == 2.0
    with pytest.raises(ValueError, match="--device: RLlib runs evaluate on the CPU"):
        evaluate_run(finished_run, device="cpu")


def test_resume_continues_from_the_checkpoint(
    finished_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative --out, as on the command line (RLlib wants absolute)
    config = tiny()
    with pytest.raises(Interrupt):
        train(config, "run", log=interrupt_after(128))
    interrupted = RunFolder("run")
    assert interrupted.summary() is None and len(interrupted.metrics()) == 2
    resumed = train(None, "run", resume=True)
    assert resumed.resumed_from == 128
    # The same run as without the stop: weights, optimizer and counters restored, and each
    # chunk re-seeded from the step.
    assert filecmp.cmp(finished_run / "metrics.csv", resumed.path / "metrics.csv", shallow=False)
    assert train(None, "run", resume=True).already_finished
    assert evaluate_run("run", split="test", episodes=2)["eval/num_samples"] == 2.0


def test_appo_trains_on_native_vector_env_runners(ray_session: None, tmp_path: Path) -> None:
    driver = RLlibDriver(tiny("rllib-appo"))
    driver.attach(tmp_path)
    try:
        driver.prepare()
        kinds = driver._algo.env_runner_group.foreach_env_runner(
            lambda runner: (type(runner.env.unwrapped).__name__, runner.num_envs),
            local_env_runner=False,
        )
        assert kinds == [("TextVectorEnv", 2)]
        stats = driver.train_until(200)
        assert driver.step >= 200 and driver.episodes > 0
        assert set(stats) == {"train/episode_return", "train/episode_length"}
        metrics = driver.evaluate("validation", 2)
        assert metrics["eval/num_samples"] == 2.0
        state = driver.state_dict()
        assert (tmp_path / state["rllib_checkpoint"]).is_dir()
    finally:
        driver.close()


# -- suites ----------------------------------------------------------------------------------------
def test_a_suite_file_runs_rllib_ppo_as_the_harness_does(
    finished_run: Path, tmp_path: Path
) -> None:
    from textgym.bench.suite import run_suite

    # The settings of tiny() as a suite file's algorithm entry: the suite's run must be the
    # module's finished run, file for file where RLlib is deterministic (metrics.csv).
    suite = tmp_path / "rllib.yaml"
    suite.write_text(
        f"envs: [{ENV}]\n"
        "algos:\n"
        "  rllib-ppo:\n"
        "    steps: 256\n"
        "    eval: {every: 128, episodes: 4}\n"
        "    overrides: {rllib.n_env_runners: 1, rllib.envs_per_runner: 2,\n"
        "                hparams.train_batch_size_per_learner: 64, hparams.minibatch_size: 32,\n"
        "                hparams.num_epochs: 1, policy.embed_dim: 16, policy.hidden_dim: 32,\n"
        "                policy.features_dim: 32, policy.head_dim: 16}\n"
        "seeds: [0]\n"
    )
    report = run_suite(suite, tmp_path / "out", jobs=1)
    (run,) = [p.parent for p in (tmp_path / "out").rglob("metrics.csv")]
    assert RunFolder(run).config() == RunFolder(finished_run).config()
    assert filecmp.cmp(finished_run / "metrics.csv", run / "metrics.csv", shallow=False)
    assert "rllib-ppo" in report.table
    assert [r["algo"] for r in report.runs] == ["rllib-ppo"]
