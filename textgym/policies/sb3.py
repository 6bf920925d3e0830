"""A Stable-Baselines3 features extractor for textgym's token-id observations.

SB3's default ``MultiInputPolicy`` flattens every ``Box`` and feeds raw token ids to an MLP as
unscaled floats: id 17 and id 18 look almost the same, so nothing is learned (a toy copy task
moved from 0.027 to 0.031 in 50k steps). :class:`TokenFeaturesExtractor` embeds the ids instead::

    from stable_baselines3 import PPO
    from textgym.policies.sb3 import policy_kwargs

    model = PPO("MultiInputPolicy", env, policy_kwargs=policy_kwargs())

The same ``policy_kwargs()`` works for A2C, DQN and sb3-contrib's ``MaskablePPO``. Do not wrap
the env in ``VecNormalize`` with ``norm_obs=True``: it turns token ids into normalised floats
that no longer index the embedding table (use ``norm_obs=False``; reward normalisation is fine).
"""

from __future__ import annotations

import inspect
from typing import Any, cast

try:
    import torch
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "textgym.policies.sb3 needs stable-baselines3 and torch: "
        'pip install "textgym[sb3]" (install a CPU build of torch first on machines without CUDA)'
    ) from error

from gymnasium import spaces

from textgym.policies._token_net import REQUIRED_KEYS as _REQUIRED_KEYS
from textgym.policies._token_net import TokenNet

__all__ = ["TokenFeaturesExtractor", "policy_kwargs"]


class TokenFeaturesExtractor(TokenNet, BaseFeaturesExtractor):
    """Encodes a textgym observation into a feature vector for SB3 policy and value heads.

    The next token depends mostly on where the generation is (its position and last tokens)
    and on which prompt tokens are relevant there, so the features are:

    - the embeddings of the last ``context_tokens`` generated tokens (a start token before the
      first), and of the current position;
    - a prompt encoding: shared token embeddings plus learned positions, one 1D convolution
      (cheap local word order on a CPU, unlike a recurrent pass over ~100 tokens), masked mean;
    - an attention read of the prompt, queried by the position and the last token: the policy
      can find "the prompt word to copy or translate next" without a pointer head;
    - the masked mean of the generated tokens (what has been said already) and the fraction of
      the length budget left.

    A small MLP mixes them into ``features_dim`` outputs. The token embedding table is shared by
    prompt and generation, so a word copied from the prompt means the same on both sides.

    Args:
        observation_space: The textgym ``Dict`` observation space.
        embed_dim: Size of token and position embeddings.
        hidden_dim: Width of the mixing MLP's hidden layer.
        features_dim: Size of the output features.
        context_tokens: How many of the last generated tokens are embedded individually.
        conv_kernel: Width of the prompt convolution (odd); 1 disables word-order context.
        attention: Whether to add the attention read of the prompt.

    Raises:
        ValueError: If the space lacks a textgym key or an argument is out of range.
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
        missing = [key for key in _REQUIRED_KEYS if key not in observation_space.spaces]
        if missing:
            raise ValueError(
                f"observation_space: missing textgym key(s) {missing}; "
                "TokenFeaturesExtractor expects the Dict observation of a textgym env"
            )
        self._check_arguments(
            embed_dim=embed_dim, hidden_dim=hidden_dim, features_dim=features_dim,
            context_tokens=context_tokens, conv_kernel=conv_kernel,
        )  # fmt: skip
        super().__init__(observation_space, features_dim)
        # textgym's observation subspaces are Boxes (textgym.core.spaces); Dict types them Space.
        self._build_token_net(
            cast(spaces.Box, observation_space["prompt_ids"]),
            cast(spaces.Box, observation_space["generated_ids"]),
            embed_dim, hidden_dim, features_dim, context_tokens, conv_kernel, attention,
        )  # fmt: skip

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """Features ``(batch, features_dim)`` of a batch of (SB3-preprocessed) observations."""
        # SB3 hands Box observations over as float tensors; ids are exact in float32 up to 2**24,
        # so rounding recovers them. Clamping keeps a foreign id from crashing the lookup.
        return self._token_features(
            observations["prompt_ids"].round().long().clamp_(0, self.vocab_size - 1),
            observations["prompt_mask"] > 0.5,
            observations["generated_ids"].round().long().clamp_(0, self.vocab_size - 1),
            observations["generated_mask"] > 0.5,
            observations["remaining"],
        )


_EXTRACTOR_ARGS = frozenset(
    name
    for name in inspect.signature(TokenFeaturesExtractor.__init__).parameters
    if name not in ("self", "observation_space")
)


def policy_kwargs(**overrides: Any) -> dict[str, Any]:
    """``policy_kwargs`` for SB3's ``MultiInputPolicy`` with :class:`TokenFeaturesExtractor`.

    Works unchanged for PPO, A2C, DQN and sb3-contrib's MaskablePPO. The heads on top of the
    extractor get one hidden layer (``net_arch=[64]``): the extractor already mixes its inputs.

    Args:
        **overrides: Extractor arguments (``embed_dim``, ``hidden_dim``, ``features_dim``,
            ``context_tokens``, ``conv_kernel``, ``attention``) go to
            ``features_extractor_kwargs``; anything else (``net_arch``, ``activation_fn``,
            ``optimizer_kwargs``...) is passed to the policy as is.

    Returns:
        A new dict, safe to modify.

    Example:
        >>> kwargs = policy_kwargs(embed_dim=32, net_arch=[32])
        >>> kwargs["features_extractor_kwargs"]["embed_dim"]
        32
    """
    extractor_kwargs: dict[str, Any] = {}
    extractor_kwargs.update(overrides.pop("features_extractor_kwargs", None) or {})
    kwargs: dict[str, Any] = {"net_arch": [64]}
    for name, value in overrides.items():
        if name in _EXTRACTOR_ARGS:
            extractor_kwargs[name] = value
        else:
            kwargs[name] = value
    kwargs["features_extractor_class"] = kwargs.get(
        "features_extractor_class", TokenFeaturesExtractor
    )
    kwargs["features_extractor_kwargs"] = extractor_kwargs
    return kwargs
