"""Run configurations: per-algorithm defaults, a YAML file, then ``key=value`` overrides.

A run is described by one nested mapping, written resolved to the run folder's ``config.yaml``
so that the folder alone says what ran::

    env_id: TextTrans-Easy-v0
    algo: maskable-ppo
    steps: 20000          # env steps (SB3) or iterations (LM algorithms, see STEP_UNITS)
    seed: 0
    env: {reward_mode: dense}            # env keyword arguments
    eval: {every: 5000, episodes: 100, split: validation}
    hparams: {learning_rate: 0.001, ...} # the algorithm's own arguments
    ...

Precedence: :func:`defaults` < ``--config FILE`` < overrides (``hparams.learning_rate=3e-4``).
Unknown keys and values of the wrong type are rejected with the valid choices, so that a typo
never silently trains with a default.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SB3_ALGOS = ("ppo", "a2c", "dqn", "maskable-ppo")
LM_ALGOS = ("sup", "scst", "ppo-lm")
# RLlib (new API stack) agents: textgym's RLModule on env runners that step the native vector
# env (textgym.bench.rllib_driver); they need the rllib extra, in a virtual environment of its
# own (RLlib pins gymnasium).
RLLIB_ALGOS = ("rllib-ppo", "rllib-appo")
ALGOS = SB3_ALGOS + LM_ALGOS + RLLIB_ALGOS

#: What ``steps`` counts for each algorithm (and the ``step`` column of ``metrics.csv``).
STEP_UNITS = {
    **{algo: "env steps (tokens), summed over the training envs" for algo in SB3_ALGOS},
    "sup": "optimizer steps",
    "scst": "iterations (one batch of episodes and one optimizer step each)",
    "ppo-lm": "iterations (one batch of episodes, then the PPO epochs)",
    **{algo: "env steps (tokens), summed over the env runners' envs" for algo in RLLIB_ALGOS},
}

# Keys whose value is an open mapping (keyword arguments of something else that validates them:
# the env, SB3's policy, the LM's config) rather than a fixed schema.
OPEN_KEYS = ("env", "policy")

_COMMON: dict[str, Any] = {
    "env_id": "TextTrans-Easy-v0",
    "algo": "maskable-ppo",
    "steps": 20_000,
    "seed": 0,
    "env": {},
    "eval": {"every": 5_000, "episodes": 100, "split": "validation"},
    "threads": 1,
}

# SB3 hyper-parameters measured to learn on the easy envs (benchmarks/sb3_learning.py): gamma 1
# because the episode's score is what counts, dense rewards to shorten credit assignment.
_SB3: dict[str, dict[str, Any]] = {
    "ppo": {
        "n_steps": 64, "batch_size": 256, "n_epochs": 4, "learning_rate": 1e-3,
        "ent_coef": 0.01, "gamma": 1.0,
    },
    "maskable-ppo": {
        "n_steps": 64, "batch_size": 256, "n_epochs": 4, "learning_rate": 1e-3,
        "ent_coef": 0.01, "gamma": 1.0,
    },
    "a2c": {"n_steps": 16, "learning_rate": 7e-4, "ent_coef": 0.01, "gamma": 1.0},
    "dqn": {
        "buffer_size": 20_000, "learning_starts": 1_000, "batch_size": 64,
        "learning_rate": 5e-4, "train_freq": 4, "target_update_interval": 1_000,
        "exploration_fraction": 0.3, "exploration_final_eps": 0.05, "gamma": 1.0,
    },
}  # fmt: skip

# LM defaults follow benchmarks/lm_learning.py (the settings of the README's learning table).
# device: "cpu", "cuda" or "cuda:N"; bf16: autocast (None: on for CUDA, off on CPU).
# init: None loads model.name as is (or builds the tiny model.arch when name is None);
# "bert2bert" builds a BERT2BERT from the encoder checkpoint model.name; "random" is
# model.name's architecture with random weights, seeded by the run seed (a BERT2BERT folder
# gives a random encoder-decoder of the same configs).
_MODEL = {
    "arch": "gpt2", "name": None, "init": None, "width": 128, "layers": 2, "heads": 4,
    "device": "cpu", "bf16": None,
}  # fmt: skip
MODEL_INITS = ("bert2bert", "bert2bert-random", "random")
# padding "longest" cuts batches to their longest prompt and target: the same loss, less compute
# (about 2x for pretrained models on real text), other float rounding than the published runs.
_WARM_START = {"steps": 300, "batch_size": 32, "learning_rate": 2e-3, "padding": "max_length"}
_LM: dict[str, dict[str, Any]] = {
    "sup": {
        "batch_size": 32, "learning_rate": 2e-3, "weight_decay": 0.0, "max_grad_norm": 1.0,
        "padding": "max_length",
    },
    "scst": {
        "samples_per_prompt": 3, "learning_rate": 1e-4, "temperature": 0.7, "kl_coef": 0.0,
        "ent_coef": 0.0, "max_grad_norm": 1.0,
    },
    "ppo-lm": {
        "epochs": 4, "minibatch_size": 16, "learning_rate": 5e-5, "gamma": 1.0,
        "gae_lambda": 0.95, "clip_range": 0.2, "value_clip_range": 0.2, "vf_coef": 0.1,
        "ent_coef": 0.0, "kl_coef": 0.05, "target_kl": 2.0, "kl_horizon": 10_000,
        "max_grad_norm": 1.0, "whiten_advantages": True, "init_value_bias": True,
        "temperature": 0.7,
    },
}  # fmt: skip


# RLlib hyper-parameters (arguments of the algorithm config's training()). PPO mirrors SB3 PPO's
# defaults above (a rollout of 64 steps x 8 envs, minibatches of 256, 4 epochs, no KL penalty,
# SB3's GAE lambda and gradient clip); APPO keeps RLlib's settings but for gamma and the batch.
_RLLIB: dict[str, dict[str, Any]] = {
    "rllib-ppo": {
        "lr": 1e-3, "entropy_coeff": 0.01, "gamma": 1.0, "lambda_": 0.95,
        "train_batch_size_per_learner": 512, "minibatch_size": 256, "num_epochs": 4,
        "clip_param": 0.2, "vf_loss_coeff": 0.5, "grad_clip": 0.5, "use_kl_loss": False,
    },
    "rllib-appo": {
        "lr": 5e-4, "entropy_coeff": 0.01, "gamma": 1.0, "train_batch_size_per_learner": 512,
        "vf_loss_coeff": 0.5, "grad_clip": 40.0,
    },
}  # fmt: skip
# Where RLlib runs: env runners (0: sample in the driver process), envs per runner (one native
# vector env each), learners (0: one in the driver process) and their GPUs; the rollout
# fragment length (null: the algorithm's default) and how long a sample may take (RLlib's 60 s
# default is too short on a loaded machine).
_RLLIB_RUN: dict[str, Any] = {
    "n_env_runners": 1, "envs_per_runner": 8, "num_cpus_per_env_runner": 1, "num_learners": 0,
    "num_gpus_per_learner": 0.0, "rollout_fragment_length": None, "sample_timeout_s": 600.0,
}  # fmt: skip


class ConfigError(ValueError):
    """A configuration that cannot run: the message names the key and what was expected."""


def defaults(algo: str) -> dict[str, Any]:
    """The complete default configuration of ``algo`` (every key a run reads).

    Raises:
        ConfigError: ``algo`` is not one of :data:`ALGOS`.
    """
    check_algo(algo)
    config = copy.deepcopy(_COMMON)
    config["algo"] = algo
    if algo in SB3_ALGOS:
        config["env"] = {"reward_mode": "dense"}
        config["n_envs"] = 8
        config["hparams"] = copy.deepcopy(_SB3[algo])
        config["policy"] = {}
        if algo == "maskable-ppo":
            config["mask"] = {"k": 8, "lexicon_k": 2, "fit_samples": 5_000}
        return config
    if algo in RLLIB_ALGOS:
        config["env"] = {"reward_mode": "dense"}
        config["rllib"] = copy.deepcopy(_RLLIB_RUN)
        config["hparams"] = copy.deepcopy(_RLLIB[algo])
        config["policy"] = {}  # TokenRLModule's model_config
        return config
    config["steps"] = {"sup": 300, "scst": 120, "ppo-lm": 60}[algo]
    config["eval"] = {"every": config["steps"] // 4, "episodes": 100, "split": "validation"}
    config["model"] = copy.deepcopy(_MODEL)
    config["hparams"] = copy.deepcopy(_LM[algo])
    config["n_envs"] = 64
    config["eval_envs"] = 100
    if algo != "sup":
        config["warm_start"] = copy.deepcopy(_WARM_START)
    return config


def check_algo(algo: str) -> str:
    """``algo`` if known, else a :class:`ConfigError` listing the algorithms."""
    if algo not in ALGOS:
        close = difflib.get_close_matches(algo, ALGOS, n=2)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise ConfigError(f"unknown algorithm {algo!r}; expected one of {', '.join(ALGOS)}.{hint}")
    return algo


def parse_value(raw: str) -> Any:
    """A command-line value: JSON (numbers, ``true``, ``null``, lists, objects), ``1e-3``-style
    floats, ``yes``/``no``/``none`` words, or else the string itself."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        pass
    try:
        return float(raw)
    except ValueError:
        pass
    words = {"yes": True, "no": False, "none": None, "null": None, "true": True, "false": False}
    return words.get(raw.lower(), raw)


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """``["hparams.learning_rate=3e-4", "seed=1"]`` -> a nested mapping.

    Raises:
        ConfigError: A pair is not ``dotted.key=value``.
    """
    nested: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        parts = key.split(".")
        if not sep or not all(part.isidentifier() for part in parts):
            raise ConfigError(
                f"override {pair!r}: expected key=value with a dotted key, "
                "e.g. hparams.learning_rate=3e-4 or env.reward_mode=terminal"
            )
        node = nested
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {pair!r}: {part!r} was already given a value")
            node = child
        node[parts[-1]] = parse_value(raw)
    return nested


def load_file(path: str | os.PathLike[str], *, source: str | None = None) -> dict[str, Any]:
    """A YAML (or JSON) configuration file as a mapping.

    Args:
        path: The file.
        source: How error messages name the file (default ``--config 'PATH'``; a run folder's
            ``config.yaml`` is not the user's ``--config``).

    Raises:
        ConfigError: Missing file, a syntax error (with its line), or not a mapping.
    """
    import yaml

    file = Path(path)
    what = source if source is not None else f"--config {str(path)!r}"
    if not file.is_file():
        raise ConfigError(f"{what}: no such file")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{what}: expected a mapping of keys to values at the top level, "
            f"got {type(data).__name__}"
        )
    return data


def resolve(
    base: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    check_devices: bool = True,
) -> dict[str, Any]:
    """Defaults of the algorithm, updated by ``base`` (a config file) then ``overrides``.

    The algorithm is taken from ``overrides``, else ``base``, else the default. Every key is
    checked against the defaults (nested mappings recursively, except the open ``env`` and
    ``policy`` mappings) and every value against the default's type.

    Args:
        base: A config file's mapping.
        overrides: Command-line overrides (they win).
        check_devices: Also check that ``model.device`` is present on this machine (off for a
            stored run config, which may be evaluated elsewhere with ``--device``).

    Raises:
        ConfigError: Unknown algorithm, env id or key; a value of the wrong type or range.
    """
    base, overrides = dict(base or {}), dict(overrides or {})
    algo = overrides.get("algo", base.get("algo", _COMMON["algo"]))
    if not isinstance(algo, str):
        raise ConfigError(f"algo: expected a string, got {algo!r}")
    config = defaults(algo)
    for layer in (base, overrides):
        _merge(config, layer, path="", algo=algo)
    _check(config, check_devices=check_devices)
    return config


def hparam_names(algo: str) -> list[str]:
    """Every hyper-parameter ``hparams`` may set for ``algo``: the SB3 algorithm's constructor
    arguments, the arguments of the RLlib algorithm config's ``training()``, or the fields of
    the LM trainer's config (less what the run itself sets)."""
    import dataclasses
    import inspect

    if algo in RLLIB_ALGOS:
        from textgym.bench.rllib_driver import training_arguments

        return training_arguments(algo)

    if algo in SB3_ALGOS:
        from textgym.bench.sb3_driver import _algo_class

        reserved = {"self", "policy", "env", "seed", "device", "verbose", "policy_kwargs",
                    "tensorboard_log", "_init_setup_model", "args", "kwargs"}  # fmt: skip
        signature = inspect.signature(_algo_class(algo).__init__)
        return sorted(set(signature.parameters) - reserved)
    from textgym.algos import PPOConfig, SCSTConfig, SupervisedConfig

    cls = {"sup": SupervisedConfig, "scst": SCSTConfig, "ppo-lm": PPOConfig}[algo]
    reserved = {"steps", "iterations", "seed", "log_every", "refresh_reference"}
    return sorted({f.name for f in dataclasses.fields(cls)} - reserved)


def _unknown(where: str, key: str, known: Sequence[str], algo: str) -> ConfigError:
    close = difflib.get_close_matches(str(key), list(known), n=1)
    prefix = where[: len(where) - len(str(key))]
    hint = f" Did you mean {prefix}{close[0]}?" if close else ""
    return ConfigError(
        f"unknown config key {where!r} for --algo {algo}; valid keys here: "
        f"{', '.join(known)}.{hint}"
    )


def _merge(config: dict[str, Any], layer: Mapping[str, Any], path: str, algo: str) -> None:
    for key, value in layer.items():
        where = f"{path}{key}"
        if path == "hparams." and key not in config:
            # Any argument of the algorithm, not only those with a textgym default.
            names = hparam_names(algo)
            if key not in names:
                raise _unknown(where, key, names, algo)
            config[key] = value
            continue
        if key not in config:
            raise _unknown(where, key, sorted(config), algo)
        current = config[key]
        if isinstance(current, dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}: expected a mapping, got {value!r}")
            if path == "" and key in OPEN_KEYS:
                current.update(value)
            else:
                _merge(current, value, path=f"{where}.", algo=algo)
            continue
        config[key] = _typed(where, current, value)


def _typed(where: str, default: Any, value: Any) -> Any:
    """``value`` checked against the type of ``default`` (ints are accepted for floats)."""
    if default is None or value is None and where.startswith(("hparams.", "model.")):
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        if isinstance(value, float) and value.is_integer():  # 2e4 from the command line
            value, ok = int(value), True
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(
            f"{where}: expected {type(default).__name__} (default {default!r}), got {value!r}"
        )
    return value


def _check(config: dict[str, Any], *, check_devices: bool = True) -> None:
    from textgym.registration import ENV_IDS

    env_id = config["env_id"]
    if env_id not in ENV_IDS:
        close = difflib.get_close_matches(str(env_id), list(ENV_IDS), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"env_id: unknown env id {env_id!r}; `textgym list` shows them.{hint}")
    for key in ("steps", "eval.every", "eval.episodes", "threads", "n_envs", "eval_envs",
                "rllib.envs_per_runner", "rllib.num_cpus_per_env_runner"):  # fmt: skip
        node: Any = config
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None and node < 1:
            raise ConfigError(f"{key}: expected an integer >= 1, got {node!r}")
    if config["seed"] < 0:
        raise ConfigError(f"seed: expected an integer >= 0, got {config['seed']!r}")
    if config["eval"]["split"] not in ("train", "validation", "test"):
        raise ConfigError(
            f"eval.split: expected train, validation or test, got {config['eval']['split']!r}"
        )
    rllib = config.get("rllib")
    if rllib is not None:
        for key in ("n_env_runners", "num_learners", "num_gpus_per_learner"):
            if rllib[key] < 0:
                raise ConfigError(f"rllib.{key}: expected a number >= 0, got {rllib[key]!r}")
        fragment = rllib["rollout_fragment_length"]
        if fragment is not None and (
            isinstance(fragment, bool) or not isinstance(fragment, int) or fragment < 1
        ):
            raise ConfigError(
                f"rllib.rollout_fragment_length: expected null (the algorithm's default) or an "
                f"integer >= 1, got {fragment!r}"
            )
        if rllib["sample_timeout_s"] <= 0:
            raise ConfigError(
                f"rllib.sample_timeout_s: expected seconds > 0, got {rllib['sample_timeout_s']!r}"
            )
        if rllib["num_gpus_per_learner"] > 0 and check_devices:
            _check_learner_gpus(rllib["num_gpus_per_learner"], rllib["num_learners"])
    model = config.get("model")
    if model is not None and model["arch"] not in ("gpt2", "t5"):
        raise ConfigError(f"model.arch: expected gpt2 or t5, got {model['arch']!r}")
    init = model.get("init") if model is not None else None
    if init is not None and init not in MODEL_INITS:
        raise ConfigError(
            f"model.init: expected null, bert2bert, bert2bert-random or random, got {init!r}"
        )
    if init is not None and model is not None and not model["name"]:  # init implies model
        what = {
            "bert2bert": "the encoder checkpoint to build the BERT2BERT from",
            "bert2bert-random": "the encoder checkpoint whose BERT2BERT architecture to "
            "initialise randomly",
            "random": "the checkpoint whose architecture to initialise randomly (the tiny "
            "model of model.arch, with model.name null, is random already)",
        }[init]
        raise ConfigError(f"model.init: {init} needs model.name, {what}")
    if model is not None:
        check_device(model["device"], model["bf16"], present=check_devices)


def _check_learner_gpus(per_learner: float, learners: int) -> None:
    """Enough CUDA devices for ``rllib.num_gpus_per_learner`` (0 learners: one, local)."""
    import math

    import torch

    needed = math.ceil(per_learner * max(1, learners))
    found = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if found < needed:
        raise ConfigError(
            f"rllib.num_gpus_per_learner: {per_learner} x {max(1, learners)} learner(s) needs "
            f"{needed} CUDA device(s), torch sees {found} (torch {torch.__version__}); use "
            "rllib.num_gpus_per_learner=0"
        )


def check_device(device: Any, bf16: Any, *, present: bool = True) -> None:
    """``device`` a device string that is present on this machine; ``bf16`` a bool or None.

    Args:
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        bf16: Autocast setting.
        present: Also check that the device is on this machine (not only its form).

    Raises:
        ConfigError: Either is malformed, or the device is missing (e.g. no CUDA).
    """
    if bf16 is not None and not isinstance(bf16, bool):
        raise ConfigError(f"model.bf16: expected true, false or null (auto), got {bf16!r}")
    if not isinstance(device, str) or not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise ConfigError(f"model.device: expected cpu, cuda or cuda:N, got {device!r}")
    if device == "cpu" or not present:
        return
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(
            f"model.device: {device} asked for, but torch sees no CUDA device "
            f"(torch {torch.__version__}); use model.device=cpu"
        )
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise ConfigError(
            f"model.device: {device} asked for, but torch sees "
            f"{torch.cuda.device_count()} CUDA device(s)"
        )


#: Env keyword arguments the run sets itself: the training envs use the train split, evaluation
#: the ``eval.split``, and the run decides on rendering.
RESERVED_ENV_KEYS = {
    "split": "the run trains on the train split and evaluates on eval.split; set eval.split",
    "render_mode": "runs do not render",
}


def check_env(config: Mapping[str, Any], *, source: str | None = None) -> None:
    """Build ``config``'s env once with its ``env`` keyword arguments (then close it), so that
    a value the env rejects fails before a run folder is written, naming the override.

    Args:
        config: A resolved configuration.
        source: Prefix of error messages (a run folder's ``config.yaml``), if not the command
            line's overrides.

    Raises:
        ConfigError: A reserved key, or the env rejects the arguments (``ValueError`` or
            ``TypeError`` from its constructor); the message names the ``env.KEY=VALUE``
            responsible and the env's reason.
    """
    import gymnasium as gym

    env_id, kwargs = config["env_id"], dict(config.get("env") or {})
    prefix = f"{source}: " if source else ""
    for key, why in RESERVED_ENV_KEYS.items():
        if key in kwargs:
            raise ConfigError(f"{prefix}env.{key}: not a run setting ({why})")

    def rejection(arguments: Mapping[str, Any]) -> Exception | None:
        try:
            gym.make(env_id, **arguments).close()
        except (TypeError, ValueError) as exc:
            return exc
        return None

    error = rejection(kwargs)
    if error is None:
        return
    # One env per argument, only on this error path: name the culprit, not all of them.
    blamed = [key for key in kwargs if rejection({key: kwargs[key]}) is not None] or list(kwargs)
    named = ", ".join(f"env.{key}={_show(kwargs[key])}" for key in blamed) or "its defaults"
    # gymnasium appends its kwargs dump to the constructor's TypeError; the env's words suffice.
    reason = str(error).split(" was raised from the environment creator")[0]
    raise ConfigError(f"{prefix}{named}: {env_id} rejects it: {reason}")


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def dump_yaml(config: Mapping[str, Any]) -> str:
    """The configuration as YAML text (keys in the order of :func:`defaults`)."""
    import yaml

    return yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=False)
