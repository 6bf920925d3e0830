"""Suite files, failing runs, and the Ray backend of ``textgym bench``.

The Ray tests start a local Ray instance (seconds); the multi-node one, with a worker killed
mid-run, is marked slow.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("yaml")

sys.path.insert(0, str(Path(__file__).parent))
from test_bench_runs import ENV  # noqa: E402

from textgym.bench import suite as suite_module  # noqa: E402
from textgym.bench.config import ConfigError  # noqa: E402
from textgym.bench.runs import RunFolder  # noqa: E402
from textgym.cli import main  # noqa: E402

SUITE_YAML = f"""\
envs: [{ENV}]
algos:
  ppo: {{steps: 128, n_envs: 2, eval: {{every: 64}},
         overrides: {{hparams.n_steps: 32, hparams.batch_size: 32}}}}
seeds: [0, 1]
common: {{eval.episodes: 4, eval.split: validation}}
"""


def suite_file(tmp_path: Path, text: str = SUITE_YAML, name: str = "mini.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def metrics_files(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("metrics.csv"))
    }


# -- suite files ---------------------------------------------------------------------------------
def test_a_suite_file_of_the_documented_shape_becomes_nested_run_settings(tmp_path: Path) -> None:
    path = suite_file(tmp_path, """\
envs: [TextTrans-Easy-v0, TextSumm-Easy-v0]
algos:
  ppo: {steps: 2048}
  maskable-ppo: {steps: 2048, overrides: {hparams.learning_rate: 3.0e-4}}
seeds: [0, 1, 2]
""")
    suite = suite_module.load_suite(path)
    assert suite.name == "mini" and suite.source == str(path)
    assert suite.env_ids == ("TextTrans-Easy-v0", "TextSumm-Easy-v0")
    assert suite.algos == ("ppo", "maskable-ppo") and suite.seeds == (0, 1, 2)
    config = suite.config("TextSumm-Easy-v0", "maskable-ppo", 2)
    assert config["steps"] == 2048 and config["hparams"]["learning_rate"] == 3.0e-4
    assert config["seed"] == 2 and config["env_id"] == "TextSumm-Easy-v0"
    assert suite.config("TextTrans-Easy-v0", "ppo", 0)["hparams"]["learning_rate"] == 1e-3
    # The definition a re-run must match carries the file's budgets.
    assert suite.definition([0])["overrides"]["maskable-ppo"]["steps"] == 2048
    assert "overrides" not in suite_module.SUITES["quick"].definition([0])  # old folders match
    # A list of algorithm names takes their default budgets.
    listed = suite_file(tmp_path, f"envs: [{ENV}]\nalgos: [ppo, a2c]\nseeds: [3]\n", "l.json")
    assert suite_module.load_suite(listed).algos == ("ppo", "a2c")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("envs: [X]\nalgos: [ppo]\n", "missing 'seeds'"),
        ("envs: []\nalgos: [ppo]\nseeds: [0]\n", "envs: expected a non-empty list"),
        (f"envs: [{ENV}]\nalgos: [ppo]\nseeds: [0.5]\n", "seeds: expected a non-empty list"),
        (f"envs: [{ENV}]\nalgos: 3\nseeds: [0]\n", "algos: expected a list"),
        (f"envs: [{ENV}]\nalgos: {{ppo: 5}}\nseeds: [0]\n", "algos.ppo: expected a mapping"),
        (f"envs: [{ENV}]\nalgos: [ppo]\nseeds: [0]\njobs: 2\n", "unknown key(s) ['jobs']"),
        (f"envs: [{ENV}]\nalgos: {{ppo: {{overrides: {{a-b: 1}}}}}}\nseeds: [0]\n",
         "'a-b' is not a (dotted) configuration key"),
    ],
)  # fmt: skip
def test_a_malformed_suite_file_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"suite file .*{re.escape(message)}"):
        suite_module.load_suite(suite_file(tmp_path, text))


def test_an_unknown_suite_algorithm_or_setting_fails_before_anything_is_written(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="expected quick, full or a suite file"):
        suite_module.load_suite("quik")
    bad_algo = suite_file(tmp_path, f"envs: [{ENV}]\nalgos: [ppoo]\nseeds: [0]\n")
    with pytest.raises(ConfigError, match="unknown algorithm 'ppoo'"):
        suite_module.run_suite(bad_algo, tmp_path / "out")
    bad_key = suite_file(tmp_path, f"envs: [{ENV}]\nalgos: {{ppo: {{stepz: 3}}}}\nseeds: [0]\n")
    with pytest.raises(ConfigError, match="stepz"):
        suite_module.run_suite(bad_key, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_changed_suite_file_is_not_continued_in_the_same_folder(tmp_path: Path) -> None:
    path = suite_file(tmp_path, SUITE_YAML.replace("seeds: [0, 1]", "seeds: [0]"))
    suite = suite_module.load_suite(path)
    suite_module._claim(tmp_path / "out", suite.definition(suite.seeds), force=False)
    path.write_text(path.read_text().replace("steps: 128", "steps: 192"))
    with pytest.raises(suite_module.RunFolderError, match="holds another suite"):
        suite_module.run_suite(path, tmp_path / "out")


# -- failures ------------------------------------------------------------------------------------
def test_a_failing_run_lets_the_others_finish_and_a_rerun_retries_only_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, out = suite_file(tmp_path), tmp_path / "out"
    real = suite_module._run_one
    calls: list[str] = []
    failures = iter([True])  # seed 1 fails once, then works

    def flaky(config: dict[str, Any], folder: str, force: bool) -> Any:
        calls.append(folder)
        if config["seed"] == 1 and next(failures, False):
            raise RuntimeError("CUDA error: out of memory (simulated)")
        return real(config, folder, force)

    monkeypatch.setattr(suite_module, "_run_one", flaky)
    lines: list[str] = []
    with pytest.raises(suite_module.SuiteRunsFailed) as caught:
        suite_module.run_suite(path, out, log=lines.append)
    ((env_id, algo, seed, message, log),) = caught.value.failures
    assert (env_id, algo, seed) == (ENV, "ppo", 1) and "out of memory" in message
    assert "Traceback" in log.read_text() and "RuntimeError" in log.read_text()
    assert any("FAILED" in line and "seed 1" in line for line in lines)
    finished = RunFolder(suite_module.run_folder(out, ENV, "ppo", 0))
    assert finished.summary() is not None  # the other run finished
    assert not (out / "results.md").exists()  # no table with a hole in it

    calls.clear()
    report = suite_module.run_suite(path, out)
    assert calls == [str(suite_module.run_folder(out, ENV, "ppo", 1))]  # only the failed one
    assert len(report.runs) == 2 and not log.exists()  # the stale log went with the success
    # The results say what produced them: versions, CPU model and vector ISA, commit.
    produced = json.loads((out / "results.json").read_text())["environment"]
    import numpy

    assert produced["versions"]["numpy"] == numpy.__version__
    assert isinstance(produced["machine"]["isa"], list) and produced["machine"]["cpu"]
    assert "host" not in produced["machine"]
    text = (out / "results.md").read_text()
    assert f"numpy {numpy.__version__}" in text and "Produced with" in text
    assert f"textgym bench --suite {path}" in text  # a file suite regenerates from its file


def test_cli_bench_reports_failed_runs_with_exit_status_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(config: dict[str, Any], folder: str, force: bool) -> Any:
        raise ValueError("boom")

    monkeypatch.setattr(suite_module, "_run_one", broken)
    path = suite_file(tmp_path, SUITE_YAML.replace("seeds: [0, 1]", "seeds: [0]"))
    assert main(["bench", "--suite", str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "1 run(s) failed" in err and "ValueError: boom" in err and "error.log" in err


def test_ray_backend_errors_name_the_extra_and_the_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = suite_file(tmp_path)
    with pytest.raises(ConfigError, match="--address: only with --backend ray"):
        suite_module.run_suite(path, tmp_path / "a", address="auto")
    with pytest.raises(ConfigError, match="--backend: expected one of local, ray"):
        suite_module.run_suite(path, tmp_path / "a", backend="dask")
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r'pip install "textgym\[ray\]"'):
        suite_module.run_suite(path, tmp_path / "a", backend="ray")
    monkeypatch.undo()
    # Nothing listens on a port just closed: a clear error within seconds, nothing written.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.perf_counter()
    code = main(["bench", "--suite", str(path), "--out", str(tmp_path / "b"), "--backend", "ray",
                 "--address", f"127.0.0.1:{port}"])  # fmt: skip
    assert code == 2 and time.perf_counter() - started < 10
    assert f"--address '127.0.0.1:{port}': nothing answers there" in capsys.readouterr().err
    assert not (tmp_path / "b").exists() and not (tmp_path / "a").exists()


def test_ray_resources_follow_threads_and_device() -> None:
    config = suite_module.SUITES["quick"].config(ENV, "ppo-lm", 0)
    assert suite_module.resources(config) == (1, 0)
    config = {**config, "threads": 2, "model": {**config["model"], "device": "cuda:0"}}
    assert suite_module.resources(config) == (2, 1)


# -- Ray -----------------------------------------------------------------------------------------
@pytest.fixture
def ray_module(monkeypatch: pytest.MonkeyPatch) -> Any:
    ray = pytest.importorskip("ray")
    # Ray nices its workers (15) by default: beside the other test worker they would crawl.
    monkeypatch.setenv("RAY_worker_niceness", "0")
    yield ray
    if ray.is_initialized():
        ray.shutdown()


def _same_baselines(local: Path, remote: Path) -> None:
    """Give ``remote`` the baselines ``local`` computed: they do not depend on the backend, and
    scoring the floors again would double the test's time."""
    remote.mkdir(parents=True, exist_ok=True)
    for name in ("suite.json", "baselines.json"):  # the same suite: the folder is claimed
        (remote / name).write_bytes((local / name).read_bytes())


def test_ray_backend_writes_the_same_files_as_the_local_one(
    tmp_path: Path, ray_module: Any
) -> None:
    path = suite_file(tmp_path)
    local = suite_module.run_suite(path, tmp_path / "local")
    _same_baselines(tmp_path / "local", tmp_path / "ray")
    lines: list[str] = []
    remote = suite_module.run_suite(path, tmp_path / "ray", backend="ray", log=lines.append)
    assert "on Ray (1 node(s)" in lines[0]
    assert metrics_files(tmp_path / "local") == metrics_files(tmp_path / "ray")
    assert len(metrics_files(tmp_path / "ray")) == 2
    assert [r["score"] for r in remote.runs] == [r["score"] for r in local.runs]
    assert remote.table.replace(str(tmp_path / "ray"), "") == local.table.replace(
        str(tmp_path / "local"), ""
    )
    assert not ray_module.is_initialized()  # the instance it started is shut down
    # Finished runs are skipped on Ray too.
    lines.clear()
    suite_module.run_suite(path, tmp_path / "ray", backend="ray", log=lines.append)
    assert "(2 already finished)" in lines[0] and not any("eval/score" in x for x in lines)


def _kill_when_checkpointed(run: Path, killed: list[int], timeout: float = 300) -> None:
    """Kill -9 the process training in ``run`` once its first checkpoint is on disk."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lock = run / ".lock"
        if (run / "checkpoints" / "latest.pt").is_file() and lock.is_file():
            pid = lock.read_text().strip()
            if pid.isdigit():
                os.kill(int(pid), signal.SIGKILL)
                killed.append(int(pid))
                return
        time.sleep(0.05)


@pytest.mark.slow
def test_a_worker_killed_mid_run_on_a_two_node_cluster_is_retried_from_its_checkpoint(
    tmp_path: Path, ray_module: Any
) -> None:
    from ray.cluster_utils import Cluster

    text = SUITE_YAML.replace("steps: 128", "steps: 512").replace("every: 64", "every: 128")
    path = suite_file(tmp_path, text)
    local = tmp_path / "local"
    suite_module.run_suite(path, local)
    _same_baselines(local, tmp_path / "ray")
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    try:
        cluster.add_node(num_cpus=1)
        ray_module.init(address=cluster.address, log_to_driver=False)
        assert len([n for n in ray_module.nodes() if n["Alive"]]) == 2
        out = tmp_path / "ray"
        killed: list[int] = []
        watcher = threading.Thread(
            target=_kill_when_checkpointed,
            args=(suite_module.run_folder(out, ENV, "ppo", 1), killed),
        )
        watcher.start()
        report = suite_module.run_suite(path, out, backend="ray")
        watcher.join()
        assert killed, "the run finished before its first checkpoint: nothing was killed"
        assert metrics_files(local) == metrics_files(out)  # resumed exactly, no corrupt file
        run = RunFolder(suite_module.run_folder(out, ENV, "ppo", 1))
        assert run.summary() is not None and len(report.runs) == 2
        assert not list(out.rglob("*.tmp"))
        events = json.loads((out / "results.json").read_text())["runs"]
        assert [r["seed"] for r in events] == [0, 1]
        # --force on Ray starts every run over (cleared by the driver, not by a retry).
        suite_module.run_suite(path, out, backend="ray", force=True)
        assert metrics_files(local) == metrics_files(out)
    finally:
        ray_module.shutdown()
        cluster.shutdown()
