"""Trainers for language-model policies on textgym environments.

The pipeline: :func:`supervised_warm_start` (maximum likelihood on the train split's
references), then :func:`train_scst` (REINFORCE with the greedy decode's score as baseline) or
:func:`train_ppo` (token-level PPO, GAE, per-token KL penalty to the reference policy with an
adaptive controller), and :func:`evaluate` (every sample of a split once: corpus metrics and a
predictions file). The env is the only source of rewards. The same seed on CPU gives the same
metrics.

Needs torch and transformers (``pip install "textgym[lm]"``); not imported by ``import textgym``.
"""

from textgym.algos.common import AdaptiveKLController, FixedKLController, gae, seed_everything
from textgym.algos.evaluate import evaluate
from textgym.algos.ppo import PPOConfig, train_ppo
from textgym.algos.scst import SCSTConfig, train_scst
from textgym.algos.supervised import SupervisedConfig, reference_batch, supervised_warm_start

__all__ = [
    "AdaptiveKLController",
    "FixedKLController",
    "PPOConfig",
    "SCSTConfig",
    "SupervisedConfig",
    "evaluate",
    "gae",
    "reference_batch",
    "seed_everything",
    "supervised_warm_start",
    "train_ppo",
    "train_scst",
]
