"""An RLlib (new API stack) RLModule for textgym's token-id observations.

RLlib's default encoder for a ``Dict`` observation flattens it into one float vector: token id
17 and id 18 then look almost the same to the MLP, as with SB3's default policy (see
:mod:`textgym.policies.sb3`). :class:`TokenRLModule` embeds the ids instead, with the
architecture of :class:`textgym.policies.sb3.TokenFeaturesExtractor` (the same features, so the
two libraries train comparable networks), and puts a policy head and a value head on top::

    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from textgym.policies.rllib import TokenRLModule

    config = (
        PPOConfig()
        .environment("textgym:TextTrans-Easy-v0")
        .env_runners(num_envs_per_env_runner=8, gym_env_vectorize_mode="vector_entry_point")
        .rl_module(rl_module_spec=RLModuleSpec(module_class=TokenRLModule))
    )

:class:`TokenAPPORLModule` adds the target policy network APPO needs. An ``action_mask`` key in
the observation (a 0/1 ``Box`` of the vocabulary's size) masks the logits; the other keys are
textgym's own. Needs ``pip install "textgym[rllib]"`` (RLlib pins its gymnasium: install it in a
virtual environment of its own).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

try:
    import torch
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.learner.utils import make_target_network
    from ray.rllib.core.rl_module.apis import (
        TARGET_NETWORK_ACTION_DIST_INPUTS,
        InferenceOnlyAPI,
        TargetNetworkAPI,
        ValueFunctionAPI,
    )
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.rllib.core.rl_module.torch import TorchRLModule
    from torch import nn
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "textgym.policies.rllib needs RLlib and torch: "
        'pip install "textgym[rllib]" (in a virtual environment of its own: RLlib pins '
        "gymnasium; install a CPU build of torch first on machines without CUDA)"
    ) from error

from gymnasium import spaces

from textgym.policies._token_net import REQUIRED_KEYS as _REQUIRED_KEYS
from textgym.policies._token_net import TokenNet

__all__ = ["MODEL_DEFAULTS", "TokenAPPORLModule", "TokenEncoder", "TokenRLModule"]

MASK_KEY = "action_mask"

#: ``model_config`` keys of :class:`TokenRLModule` and their defaults: the encoder's arguments
#: (those of ``TokenFeaturesExtractor``) and ``head_dim``, the hidden width of each head (SB3's
#: ``net_arch=[64]`` in :func:`textgym.policies.sb3.policy_kwargs`).
MODEL_DEFAULTS: dict[str, Any] = {
    "embed_dim": 64,
    "hidden_dim": 128,
    "features_dim": 128,
    "context_tokens": 2,
    "conv_kernel": 3,
    "attention": True,
    "head_dim": 64,
}


# RLlib adds its own defaults to every module's model_config (an algorithm's auto-included
# keys, such as PPO's vf_share_layers, are fields of DefaultModelConfig): accepted, unused.
_RLLIB_KEYS = frozenset(field.name for field in dataclasses.fields(DefaultModelConfig))


def check_model_config(model_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """``model_config`` completed with :data:`MODEL_DEFAULTS` and checked (keys of RLlib's
    ``DefaultModelConfig``, which RLlib adds itself, are dropped).

    Raises:
        ValueError: An unknown key (the message lists the known ones) or a value out of range.
    """
    given = {k: v for k, v in dict(model_config or {}).items() if k not in _RLLIB_KEYS}
    unknown = sorted(set(given) - set(MODEL_DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown model_config key(s) {unknown} of TokenRLModule; expected any of "
            f"{', '.join(MODEL_DEFAULTS)}"
        )
    merged = {**MODEL_DEFAULTS, **given}
    for name in ("embed_dim", "hidden_dim", "features_dim", "context_tokens", "head_dim"):
        value = merged[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    kernel = merged["conv_kernel"]
    if isinstance(kernel, bool) or not isinstance(kernel, int) or kernel < 1 or kernel % 2 == 0:
        raise ValueError(f"conv_kernel: expected an odd integer >= 1, got {kernel!r}")
    if not isinstance(merged["attention"], bool):
        raise ValueError(f"attention: expected true or false, got {merged['attention']!r}")
    return merged


class TokenEncoder(TokenNet, nn.Module):
    """Token-id observation -> feature vector; the network of ``TokenFeaturesExtractor``.

    Features: the embeddings of the last ``context_tokens`` generated tokens (a start token
    before the first) and of the position; a prompt encoding (shared token embeddings plus
    learned positions, one 1D convolution, masked mean); an attention read of the prompt queried
    by the position and the last token; the masked mean of the generated tokens and the fraction
    of the length budget left. A small MLP mixes them into ``features_dim`` outputs.

    Args:
        observation_space: The textgym ``Dict`` observation space (an ``action_mask`` key is
            ignored here).
        embed_dim, hidden_dim, features_dim, context_tokens, conv_kernel, attention: As
            ``TokenFeaturesExtractor``'s.

    Raises:
        ValueError: The space lacks a textgym key.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        embed_dim: int = 64,
        hidden_dim: int = 128,
        features_dim: int = 128,
        context_tokens: int = 2,
        conv_kernel: int = 3,
        attention: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(observation_space, spaces.Dict):
            raise ValueError(
                f"observation_space: expected the Dict space of a textgym env, got "
                f"{observation_space!r}"
            )
        missing = [key for key in _REQUIRED_KEYS if key not in observation_space.spaces]
        if missing:
            raise ValueError(
                f"observation_space: missing textgym key(s) {missing}; TokenRLModule expects "
                "the Dict observation of a textgym env (do not flatten it with RLlib's "
                "FlattenObservations connector)"
            )
        prompt_space = observation_space["prompt_ids"]
        generated_space = observation_space["generated_ids"]
        if not isinstance(prompt_space, spaces.Box) or not isinstance(generated_space, spaces.Box):
            raise ValueError("observation_space: prompt_ids and generated_ids must be Box spaces")
        self._check_arguments(
            embed_dim=embed_dim, hidden_dim=hidden_dim, features_dim=features_dim,
            context_tokens=context_tokens, conv_kernel=conv_kernel,
        )  # fmt: skip
        self.features_dim = int(features_dim)
        self._build_token_net(
            prompt_space, generated_space, embed_dim, hidden_dim, features_dim, context_tokens,
            conv_kernel, attention,
        )  # fmt: skip

    def _ids(self, values: torch.Tensor) -> torch.Tensor:
        # RLlib passes the int64 ids through; float ids (another connector) are exact in
        # float32 up to 2**24, so rounding recovers them. Clamping keeps a foreign id from
        # crashing the lookup.
        if values.is_floating_point():
            values = values.round()
        return values.long().clamp(0, self.vocab_size - 1)

    def forward(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Features ``(batch, features_dim)`` of a batch of observations."""
        return self._token_features(
            self._ids(obs["prompt_ids"]),
            obs["prompt_mask"] > 0.5,
            self._ids(obs["generated_ids"]),
            obs["generated_mask"] > 0.5,
            obs["remaining"],
        )


def _head(features_dim: int, hidden: int, outputs: int, gain: float) -> nn.Sequential:
    """One tanh hidden layer (SB3's policy and value nets), orthogonally initialised as SB3's
    ``ortho_init``: hidden layers with gain sqrt(2), the output layer with ``gain``."""
    hidden_layer, output_layer = nn.Linear(features_dim, hidden), nn.Linear(hidden, outputs)
    for layer, layer_gain in ((hidden_layer, math.sqrt(2)), (output_layer, gain)):
        nn.init.orthogonal_(layer.weight, gain=layer_gain)
        nn.init.zeros_(layer.bias)
    return nn.Sequential(hidden_layer, nn.Tanh(), output_layer)


class TokenRLModule(TorchRLModule, ValueFunctionAPI, InferenceOnlyAPI):
    """Embeds textgym token ids (:class:`TokenEncoder`); a policy head gives logits over the
    vocabulary and a value head the state value (``ValueFunctionAPI``), both on the shared
    features, as SB3's ``MultiInputPolicy`` with ``TokenFeaturesExtractor`` does.

    ``model_config`` takes the keys of :data:`MODEL_DEFAULTS`. The encoder's linear layers and
    the heads are initialised as SB3 initialises its policy (orthogonal; the policy's output
    layer with gain 0.01, so that the first policy is close to uniform). An ``action_mask``
    observation key sets the logits of masked actions to the float minimum, so they are never
    sampled and the greedy action is always allowed. On env runners (``inference_only``) the
    value head is left out.
    """

    def setup(self) -> None:
        """Builds the encoder and heads from ``observation_space``, ``action_space`` and
        ``model_config``."""
        super().setup()
        if not isinstance(self.action_space, spaces.Discrete):
            raise ValueError(
                f"action_space: expected the Discrete vocabulary of a textgym env, got "
                f"{self.action_space!r}"
            )
        obs_space = self.observation_space
        if not isinstance(obs_space, spaces.Dict):
            raise ValueError(
                f"observation_space: expected the Dict space of a textgym env, got {obs_space!r}"
            )
        model_config: Any = self.model_config
        if dataclasses.is_dataclass(model_config) and not isinstance(model_config, type):
            model_config = dataclasses.asdict(model_config)
        config = check_model_config(model_config)
        head_dim = config.pop("head_dim")
        self.encoder = TokenEncoder(obs_space, **config)
        for module in self.encoder.modules():
            if isinstance(module, nn.Linear):  # SB3's init_weights touches Linear layers only
                nn.init.orthogonal_(module.weight, gain=math.sqrt(2))
                nn.init.zeros_(module.bias)
        features = self.encoder.features_dim
        self.pi = _head(features, head_dim, int(self.action_space.n), gain=0.01)
        self.vf = _head(features, head_dim, 1, gain=1.0)
        self._masked = MASK_KEY in obs_space.spaces

    def _logits(self, obs: Mapping[str, torch.Tensor], features: torch.Tensor) -> torch.Tensor:
        logits = self.pi(features)
        if self._masked:
            allowed = obs[MASK_KEY] > 0.5
            logits = logits.masked_fill(~allowed, torch.finfo(logits.dtype).min)
        return logits

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Inference and exploration: the action logits."""
        obs = batch[Columns.OBS]
        return {Columns.ACTION_DIST_INPUTS: self._logits(obs, self.encoder(obs))}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Training: the logits and the shared features, which :meth:`compute_values` reuses
        instead of encoding the batch twice."""
        obs = batch[Columns.OBS]
        features = self.encoder(obs)
        return {
            Columns.ACTION_DIST_INPUTS: self._logits(obs, features),
            Columns.EMBEDDINGS: features,
        }

    def compute_values(
        self, batch: dict[str, Any], embeddings: torch.Tensor | None = None
    ) -> torch.Tensor:
        """State values ``(batch,)``; ``embeddings`` are :meth:`_forward_train`'s features."""
        if embeddings is None:
            embeddings = self.encoder(batch[Columns.OBS])
        return self.vf(embeddings).squeeze(-1)

    def get_non_inference_attributes(self) -> list[str]:
        """The value head: env runners only act."""
        return ["vf"]


class TokenAPPORLModule(TokenRLModule, TargetNetworkAPI):
    """:class:`TokenRLModule` with the target (old) policy network APPO's loss compares with:
    a copy of the encoder and the policy head, synced by RLlib's learner."""

    def make_target_networks(self) -> None:
        """Copies of the encoder and policy head (called by the learner)."""
        self._old_encoder = make_target_network(self.encoder)
        self._old_pi = make_target_network(self.pi)

    def get_target_network_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        """(main, target) pairs for RLlib's target updates."""
        return [(self.encoder, self._old_encoder), (self.pi, self._old_pi)]

    def forward_target(self, batch: dict[str, Any]) -> dict[str, Any]:
        """The target policy's logits (masked like the main policy's)."""
        obs = batch[Columns.OBS]
        logits = self._old_pi(self._old_encoder(obs))
        if self._masked:
            logits = logits.masked_fill(obs[MASK_KEY] <= 0.5, torch.finfo(logits.dtype).min)
        return {TARGET_NETWORK_ACTION_DIST_INPUTS: logits}

    def get_non_inference_attributes(self) -> list[str]:
        """The value head and the target networks."""
        return [*super().get_non_inference_attributes(), "_old_encoder", "_old_pi"]
