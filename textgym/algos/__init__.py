"""Trainers for language-model policies on textgym environments.

The pipeline: :func:`supervised_warm_start` (maximum likelihood on the train split's
references), then :func:`train_scst` (REINFORCE with the greedy decode's score as baseline) or
:func:`train_ppo` (token-level PPO, GAE, per-token KL penalty to the reference policy with an
adaptive controller), and :func:`evaluate` (every sample of a split once: corpus metrics and a
predictions file). The env is the only source of rewards. The same seed on CPU gives the same
metrics.

Each trainer is also a class (:class:`SupervisedTrainer`, :class:`SCSTTrainer`,
:class:`PPOTrainer`) run one iteration at a time with ``step()``, whose ``state_dict()`` /
``load_state_dict()`` resume a run bit-exactly; the functions above are thin loops over them.

Needs torch and transformers (``pip install "textgym[lm]"``); not imported by ``import textgym``.
"""

from textgym.algos.common import (
    AdaptiveKLController,
    DeviceChangeWarning,
    FixedKLController,
    Trainer,
    gae,
    seed_everything,
)
from textgym.algos.evaluate import evaluate
from textgym.algos.ppo import PPOConfig, PPOTrainer, train_ppo
from textgym.algos.scst import SCSTConfig, SCSTTrainer, train_scst
from textgym.algos.supervised import (
    SupervisedConfig,
    SupervisedTrainer,
    reference_batch,
    supervised_warm_start,
)

__all__ = [
    "AdaptiveKLController",
    "DeviceChangeWarning",
    "FixedKLController",
    "PPOConfig",
    "PPOTrainer",
    "SCSTConfig",
    "SCSTTrainer",
    "SupervisedConfig",
    "SupervisedTrainer",
    "Trainer",
    "evaluate",
    "gae",
    "reference_batch",
    "seed_everything",
    "supervised_warm_start",
    "train_ppo",
    "train_scst",
]
