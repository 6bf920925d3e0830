"""One training run into a run folder: train, evaluate on a schedule, checkpoint, resume.

The run alternates training chunks and evaluations at ``0, eval.every, 2 * eval.every, ...,
steps``. After each evaluation the complete training state is checkpointed
(``checkpoints/latest.pt``) together with the metric rows so far, and ``metrics.csv`` is
rewritten; a run interrupted at any moment resumes from the last checkpoint and, on CPU, ends
with exactly the metrics of an uninterrupted run with the same seed.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textgym._io import atomic_write_bytes
from textgym.bench.config import LM_ALGOS, RLLIB_ALGOS, SB3_ALGOS, STEP_UNITS, check_env
from textgym.bench.runs import RunFolder, RunFolderError

CHECKPOINT_FORMAT = 1


@dataclass
class RunResult:
    """What :func:`train` returns.

    Attributes:
        path: The run folder.
        summary: The contents of ``summary.json``.
        resumed_from: The step the run resumed from (``None`` for a fresh run).
        already_finished: ``resume`` found the run finished, with nothing left to write.
    """

    path: Path
    summary: dict[str, Any]
    resumed_from: int | None = None
    already_finished: bool = False


def make_driver(config: Mapping[str, Any]) -> Any:
    """The trainer of ``config["algo"]``: an SB3, an RLlib or an LM driver."""
    if config["algo"] in SB3_ALGOS:
        from textgym.bench.sb3_driver import SB3Driver

        return SB3Driver(config)
    if config["algo"] in RLLIB_ALGOS:
        from textgym.bench.rllib_driver import RLlibDriver

        return RLlibDriver(config)
    assert config["algo"] in LM_ALGOS
    from textgym.bench.lm_driver import LMDriver

    return LMDriver(config)


def save_checkpoint(state: Mapping[str, Any], *paths: Path) -> None:
    """``torch.save`` into memory once, then an atomic replace of each path: never a truncated
    checkpoint."""
    import torch

    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    for path in paths:
        atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint written by :func:`save_checkpoint`.

    Checkpoints hold pickled training state (RNG states, the training envs), so only load
    checkpoints you or your tools wrote.

    Raises:
        RunFolderError: Missing, unreadable or from a newer checkpoint format.
    """
    import torch

    if not path.is_file():
        raise RunFolderError(f"missing checkpoint {str(path)!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a corrupt file raises many kinds of errors
        raise RunFolderError(f"checkpoint {str(path)!r} cannot be read: {exc}") from None
    if not isinstance(state, dict) or state.get("format", 0) > CHECKPOINT_FORMAT:
        raise RunFolderError(
            f"checkpoint {str(path)!r} was written by a newer textgym (checkpoint format "
            f"{state.get('format') if isinstance(state, dict) else '?'}); upgrade textgym"
        )
    return state


def train(
    config: Mapping[str, Any] | None,
    out: str | os.PathLike[str],
    *,
    force: bool = False,
    resume: bool = False,
    progress: bool = False,
    command: Sequence[str] | None = None,
    log: Callable[[str], None] | None = None,
    notice: Callable[[str], None] | None = None,
) -> RunResult:
    """Train as ``config`` says, writing the run folder ``out``.

    One process at a time uses a run folder: it is locked from before it gets contents (a new
    run) or from when it is opened (``resume``) until the run returns. ``summary.json`` is
    written last, after every other final file: a run killed before it is completed by
    ``resume`` (from the final checkpoint, without retraining, when training had ended).

    Args:
        config: A resolved configuration (:func:`textgym.bench.config.resolve`); ``None``
            with ``resume`` (the folder's own configuration is used).
        out: The run folder.
        force: Replace an existing run folder (and accept a folder from a newer textgym when
            resuming).
        resume: Continue the run in ``out`` from its last checkpoint (a finished run is
            returned as it is; a run without a checkpoint starts over in the same folder).
        progress: Show a progress bar on stderr.
        command: The command line, for the manifest.
        log: Receives one line per evaluation (``print`` for the CLI).
        notice: Receives one-time notices of a new run, such as a budget rounded up to whole
            SB3 rollouts (:func:`step_plan`).

    Returns:
        The run's summary.

    Raises:
        RunFolderError: ``out`` exists (without ``resume``/``force``), is not a run folder,
            is from a newer textgym, or is in use by another process.
        ConfigError: A configuration that does not validate, or env arguments the env
            rejects.
    """
    lock = None
    try:
        if resume:
            folder = RunFolder.open(out, force=force)
            lock = folder.lock()
            # Left by a killed writer: with the lock held, no live writer owns them.
            folder.remove_stale_temporaries()
            stored = folder.config()
            if config is not None and dict(config) != stored:
                raise RunFolderError(
                    f"--resume {str(out)!r}: the run continues with its stored config.yaml; do "
                    "not pass a different env, algorithm, budget, seed, config file or override"
                )
            config = stored
            check_env(config, source=f"run config {str(folder.path / RunFolder.CONFIG)!r}")
            finished = folder.summary()
            if finished is not None:
                if folder.manifest().get("status") != "finished":  # killed right after summary
                    folder.update_manifest(status="finished")
                return RunResult(
                    folder.path, finished, resumed_from=finished.get("step"), already_finished=True
                )
        else:
            if config is None:
                raise ValueError("config: required unless resume=True")
            RunFolder.check_target(out, force=force)
            check_env(config)
        assert config is not None

        import torch

        torch.set_num_threads(int(config["threads"]))
        started = time.perf_counter()
        # Built before a new folder is created: a configuration the algorithm rejects leaves none.
        driver = make_driver(config)
        planned, rounding = step_plan(config)
        if not resume:
            target = Path(out)
            try:
                target.mkdir(parents=True, exist_ok=True)
                # Locked before create() deletes (--force) or writes anything in it.
                lock = RunFolder(target).lock()
                folder = RunFolder.create(target, config, force=force, command=command)
            except BaseException:
                driver.close()
                raise
            if rounding is not None and notice is not None:
                notice(rounding)
        return _train_locked(folder, config, driver, resume, planned, started, progress, log)
    finally:
        if lock is not None:
            lock.release()


def _train_locked(
    folder: RunFolder,
    config: Mapping[str, Any],
    driver: Any,
    resume: bool,
    planned: int | None,
    started: float,
    progress: bool,
    log: Callable[[str], None] | None,
) -> RunResult:
    """The body of :func:`train`, once the folder is locked and the driver built."""
    latest = folder.checkpoints / "latest.pt"
    rows: list[dict[str, Any]] = []
    resumed_from = None
    try:
        if hasattr(driver, "attach"):  # a driver that keeps files of its own there (RLlib)
            driver.attach(folder.path)
        if resume and latest.is_file():
            state = load_checkpoint(latest)
            driver.load_state_dict(state["driver"])
            rows = list(state["rows"])
            resumed_from = driver.step
    except BaseException:
        driver.close()
        raise
    steps, every = int(config["steps"]), int(config["eval"]["every"])
    folder.update_manifest(
        status="running", unit=STEP_UNITS[config["algo"]], steps_requested=steps,
        steps_planned=planned,
    )  # fmt: skip
    # A resumed run purges what the killed session logged from the checkpoint's step on (all
    # of it without a checkpoint), and logs the checkpoint's row again: once, whether or not
    # the killed session got to log it.
    purge = None if not resume else (resumed_from if resumed_from is not None else 0)
    writer = _tensorboard(folder, purge_step=purge)
    bar = _progress_bar(progress, config, driver, folder)
    clock = _Clock(driver.step)
    split, episodes = config["eval"]["split"], int(config["eval"]["episodes"])
    predictions = folder.path / RunFolder.PREDICTIONS
    try:
        if rows:
            # The session may have died between the checkpoint and metrics.csv: the
            # checkpoint's rows are the truth, written again exactly (no clock: no timings).
            _record(folder, writer, rows, driver, None, None)
        else:  # step 0: the untrained (or warm-started) policy
            driver.prepare()
            rows.append(_row(driver, {}, driver.evaluate(split, episodes)))
            _record(folder, writer, rows, driver, log, clock)
        while driver.step < steps:
            target = min(steps, (driver.step // every + 1) * every)
            train_stats = driver.train_until(target, on_progress=bar.update_to)
            last = driver.step >= steps
            written = predictions if last else None
            rows.append(_row(driver, train_stats, driver.evaluate(split, episodes, written)))
            state = {"format": CHECKPOINT_FORMAT, "rows": rows, "driver": driver.state_dict()}
            final = [folder.checkpoints / "final.pt"] if last else []
            save_checkpoint(state, latest, *final)
            _record(folder, writer, rows, driver, log, clock)
        # Training had ended before a kill: complete what the killed session did not write.
        if not predictions.is_file():
            driver.evaluate(split, episodes, predictions)  # deterministic: the same predictions
        if not (folder.checkpoints / "final.pt").is_file():
            atomic_write_bytes(folder.checkpoints / "final.pt", latest.read_bytes())
    finally:
        bar.close()
        if writer is not None:
            writer.close()
        driver.close()
    _plot(folder, rows, config)
    final_row = rows[-1]
    summary = {
        "env_id": config["env_id"],
        "algo": config["algo"],
        "seed": config["seed"],
        "step": final_row["step"],
        "steps_requested": steps,
        "unit": STEP_UNITS[config["algo"]],
        "env_steps": final_row["env_steps"],
        "episodes": final_row["episodes"],
        **{k: v for k, v in final_row.items() if k.startswith("eval/")},
        "seconds_this_session": time.perf_counter() - started,
        "resumed_from": resumed_from,
    }
    summary["signatures"] = _signatures(config, predictions, summary)
    from textgym.bench.runs import environment

    summary["environment"] = environment()  # versions, CPU and ISA, lock: what produced it
    # The finish line: written after every other final file, so that a folder with a summary
    # lacks nothing.
    folder.write_summary(summary)
    folder.update_manifest(status="finished")
    return RunResult(folder.path, summary, resumed_from)


def step_plan(config: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """How many steps the run will take, and a notice if that is not ``config["steps"]``.

    SB3 algorithms train in whole rollouts (PPO, MaskablePPO, A2C: ``n_steps`` per env;
    DQN: ``train_freq`` steps per env between updates): stopping mid-rollout would change the
    algorithm (PPO's update needs a full rollout buffer), so a budget that is not a multiple is
    rounded up to one, and so are the evaluation points. LM algorithms count iterations and
    stop exactly.

    Returns:
        The planned number of steps (``None`` when DQN collects whole episodes, which cannot be
        planned), and the notice (``None`` when the run stops exactly where asked).
    """
    steps, every = int(config["steps"]), int(config["eval"]["every"])
    algo = config["algo"]
    if algo in RLLIB_ALGOS:
        from textgym.bench.rllib_driver import step_plan as rllib_step_plan

        return rllib_step_plan(config)
    if algo not in SB3_ALGOS:
        return steps, None
    import inspect

    from textgym.bench.sb3_driver import _algo_class

    cls = _algo_class(algo)
    hparams, n_envs = config["hparams"], int(config["n_envs"])
    key = "train_freq" if algo == "dqn" else "n_steps"
    per_env = hparams.get(key)
    if per_env is None:  # not set: the algorithm's own default
        per_env = inspect.signature(cls.__init__).parameters[key].default
    if algo == "dqn":
        count, unit = (per_env, "step") if isinstance(per_env, int) else tuple(per_env)
        if not str(unit).startswith("step"):
            return None, (
                f"--steps {steps} is rounded up to whole episodes: DQN collects "
                f"train_freq={count} episodes per env ({n_envs} envs) between updates"
            )
        envs = f"{n_envs} env{'s' if n_envs != 1 else ''}"
        what = f"DQN collects train_freq={count} steps x {envs} between updates"
        per_env = count
    else:
        envs = f"{n_envs} env{'s' if n_envs != 1 else ''}"
        what = f"{cls.__name__} trains in whole rollouts of {per_env} steps x {envs}"
    size = int(per_env) * n_envs
    points, step = [], 0
    while step < steps:  # the loop of train(): the first rollout end past each target
        step = -(-min(steps, (step // every + 1) * every) // size) * size
        points.append(step)
    off_grid = [p for p in points[:-1] if p % every]
    if step == steps and not off_grid:
        return steps, None
    text = f"{what} ({size:,} env steps)"
    if step != steps:
        text = f"--steps {steps} is rounded up to {step:,}: {text}"
    if off_grid:
        shown = ", ".join(f"{p:,}" for p in points[:3]) + (", ..." if len(points) > 3 else "")
        text += f"; evaluations fall on the first boundary past each eval.every={every:,}: {shown}"
    return step, text


def _row(driver: Any, train_stats: Mapping[str, float], eval_metrics: Mapping[str, float]) -> dict:
    return {
        "step": driver.step,
        "env_steps": driver.step if driver.unit == "env steps" else driver.env_steps,
        "episodes": driver.episodes,
        **dict(sorted(train_stats.items())),
        **eval_metrics,
    }


class _Clock:
    """Wall-clock rates between evaluations: TensorBoard only, never ``metrics.csv``."""

    def __init__(self, step: int) -> None:
        self.started = self.last_time = time.perf_counter()
        self.last_step = step

    def tick(self, step: int) -> dict[str, float]:
        now = time.perf_counter()
        rate = (step - self.last_step) / max(now - self.last_time, 1e-9)
        self.last_time, self.last_step = now, step
        return {"perf/seconds": now - self.started, "perf/steps_per_second": rate}


def _record(
    folder: RunFolder, writer: Any, rows: list, driver: Any, log: Any, clock: _Clock | None
) -> None:
    folder.write_metrics(rows)
    row = rows[-1]
    timing = clock.tick(row["step"]) if clock is not None else {}
    if writer is not None:
        for key, value in {**row, **timing}.items():
            if "/" in key and isinstance(value, (int, float)):
                writer.add_scalar(key, value, global_step=row["step"])
        writer.add_scalar("charts/env_steps", row["env_steps"], global_step=row["step"])
        writer.flush()
    if log is not None:
        score = row.get("eval/score")
        ret = row.get("train/episode_return")
        log(
            f"step {row['step']:>8} ({driver.unit}) | eval/score {score:.4f}"
            + (f" | train/episode_return {ret:.4f}" if ret is not None else "")
        )


def _tensorboard(folder: RunFolder, purge_step: int | None) -> Any:
    """A TensorBoard writer, or ``None`` (with a warning) when tensorboard is missing."""
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        warnings.warn(
            "tensorboard is not installed, so the run folder gets no TensorBoard events; "
            'install it with: pip install "textgym[bench]"',
            stacklevel=3,
        )
        return None
    _wait_for_a_later_second(folder.events)
    # purge_step drops events logged after the checkpoint by the interrupted session.
    return SummaryWriter(log_dir=str(folder.events), purge_step=purge_step)


_EVENT_FILE = re.compile(r"events\.out\.tfevents\.(\d+)\.")


def _wait_for_a_later_second(events: Path, *, longest: float = 2.0) -> None:
    """Make the next event file sort after every event file already in ``events``.

    TensorBoard reads a run's event files in name order, and a name starts with the second
    its writer was created in, then host name and pid. A session resumed within the same
    second as the killed one (a fast run: seen on CI) would otherwise sort by pid, and its
    steps could be read before the killed session's ones.
    """
    stamps = [int(m.group(1)) for f in events.glob("events.out.tfevents.*")
              if (m := _EVENT_FILE.match(f.name))]  # fmt: skip
    if not stamps:
        return
    wait = max(stamps) + 1 - time.time()
    if wait > longest:  # an event file from the future: the clock moved back
        warnings.warn(
            f"{events}: an event file is dated {wait:.0f} s ahead of this machine's clock; "
            "TensorBoard may show this session's steps before the earlier ones",
            stacklevel=3,
        )
    elif wait > 0:
        time.sleep(wait)


class _NoBar:
    def update_to(self, step: int) -> None:
        pass

    def close(self) -> None:
        pass


class _Bar(_NoBar):
    def __init__(self, total: int, initial: int, unit: str, desc: str) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, initial=initial, unit=f" {unit}", desc=desc, leave=False)

    def update_to(self, step: int) -> None:
        self._bar.update(max(0, min(step, self._bar.total) - self._bar.n))

    def close(self) -> None:
        self._bar.close()


def _progress_bar(enabled: bool, config: Mapping[str, Any], driver: Any, folder: RunFolder) -> Any:
    if not enabled:
        return _NoBar()
    desc = f"{config['env_id']} {config['algo']} seed {config['seed']}"
    unit = "steps" if driver.unit == "env steps" else "it"
    return _Bar(int(config["steps"]), driver.step, unit, desc)


def _plot(folder: RunFolder, rows: list[dict[str, Any]], config: Mapping[str, Any]) -> None:
    from textgym.bench.plots import plot_run

    try:
        plot_run(rows, folder.path / RunFolder.CURVES, title=_title(config), unit=_unit(config))
    except ImportError as exc:
        warnings.warn(f"no curves.png: {exc}", stacklevel=3)


def _title(config: Mapping[str, Any]) -> str:
    return f"{config['env_id']} {config['algo']} seed {config['seed']}"


def _unit(config: Mapping[str, Any]) -> str:
    if config["algo"] in SB3_ALGOS + RLLIB_ALGOS:
        return "env steps"
    return STEP_UNITS[config["algo"]].split(" (")[0]


def evaluate_run(
    path: str | os.PathLike[str],
    *,
    split: str = "test",
    episodes: int | None = None,
    checkpoint: str = "final",
    force: bool = False,
    device: str | None = None,
) -> dict[str, Any]:
    """Evaluate a run's checkpoint on a split; writes ``eval_<split>.json`` and
    ``predictions_<split>.jsonl`` into the run folder.

    Args:
        path: The run folder.
        split: ``train``, ``validation`` or ``test``.
        episodes: Samples ``0..episodes-1`` (default: the run's ``eval.episodes``).
        checkpoint: ``final`` (a finished run) or ``latest`` (the last checkpoint).
        force: Accept a folder written by a newer textgym.
        device: LM runs: the device to evaluate on (default: the run's ``model.device``), e.g.
            ``"cpu"`` for a run trained on a GPU.

    Raises:
        RunFolderError: Not a run folder, newer format, or the checkpoint is missing.
        ConfigError: The run's ``config.yaml`` is broken (the message names it).
        ValueError: A bad split, episode count, checkpoint name or device.
    """
    if split not in ("train", "validation", "test"):
        raise ValueError(f"--split: expected train, validation or test, got {split!r}")
    if checkpoint not in ("final", "latest"):
        raise ValueError(f"--checkpoint: expected final or latest, got {checkpoint!r}")
    if episodes is not None and episodes < 1:
        raise ValueError(f"--episodes: expected an integer >= 1, got {episodes!r}")
    folder = RunFolder.open(path, force=force)
    file = folder.checkpoints / f"{checkpoint}.pt"
    if not file.is_file():
        hint = (
            " The run has not finished: pass --checkpoint latest to evaluate its last "
            "checkpoint, or resume it with `textgym train --resume`."
            if checkpoint == "final" and (folder.checkpoints / "latest.pt").is_file()
            else " The run saved no checkpoint (was it interrupted before its first evaluation?)."
        )
        raise RunFolderError(f"{str(path)!r}: missing checkpoint {file.name}.{hint}")
    config = folder.config()
    check_env(config, source=f"run config {str(folder.path / RunFolder.CONFIG)!r}")
    if device is not None:
        if config["algo"] in SB3_ALGOS:
            raise ValueError(f"--device: SB3 runs evaluate on the CPU; got --device {device}")
        if config["algo"] in RLLIB_ALGOS:
            raise ValueError(f"--device: RLlib runs evaluate on the CPU; got --device {device}")
        config["model"]["device"] = device  # checked by the driver
    state = load_checkpoint(file)
    import torch

    torch.set_num_threads(int(config["threads"]))
    driver = make_driver(config)
    try:
        with warnings.catch_warnings():
            # Evaluation does not use the training sampler a device change re-seeds.
            if config["algo"] in LM_ALGOS:
                from textgym.algos import DeviceChangeWarning

                warnings.simplefilter("ignore", DeviceChangeWarning)
            if hasattr(driver, "attach"):
                driver.attach(folder.path)
            driver.load_state_dict(state["driver"])
        count = int(config["eval"]["episodes"]) if episodes is None else episodes
        metrics = driver.evaluate(split, count, folder.path / f"predictions_{split}.jsonl")
    finally:
        driver.close()
    result = {
        "run": str(folder.path),
        "env_id": config["env_id"],
        "algo": config["algo"],
        "seed": config["seed"],
        "checkpoint": checkpoint,
        "step": driver.step,
        "split": split,
        **metrics,
    }
    from textgym._io import atomic_write_json

    result["signatures"] = _signatures(config, folder.path / f"predictions_{split}.jsonl", result)
    atomic_write_json(folder.path / f"eval_{split}.json", result)
    return result


def _signatures(
    config: Mapping[str, Any], predictions: Path, reported: Mapping[str, Any]
) -> dict[str, str]:
    """``eval/<metric>`` -> the metric's signature, for the metrics of a predictions file."""
    from textgym.bench.compare import read_predictions, reward_name, run_signatures

    rows = read_predictions(predictions)
    reward = reward_name(config["env_id"], config["env"])
    signatures = run_signatures(rows, reward, keys=list(reported))
    return {key: signatures[key] for key in reported if key in signatures}


def format_summary(summary: Mapping[str, Any]) -> str:
    """A few human lines for the end of ``textgym train``."""
    unit = summary["unit"].split(" (")[0]
    budget = f"{summary['step']} {unit}"
    if not unit.startswith("env steps"):
        budget += f", {summary['env_steps']} env steps"
    lines = [
        f"{summary['env_id']} {summary['algo']} seed {summary['seed']}: {budget}, "
        f"{summary['episodes']} episodes"
    ]
    for key, value in summary.items():
        if key.startswith("eval/"):
            lines.append(f"  {key:<18} {value:.4f}" if isinstance(value, float) else f"  {key}")
    return "\n".join(lines)


def summary_json(summary: Mapping[str, Any]) -> str:
    """``summary`` as one JSON line."""
    return json.dumps(dict(summary), sort_keys=True)
