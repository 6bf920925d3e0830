"""The token-id network shared by SB3's ``TokenFeaturesExtractor`` and RLlib's ``TokenEncoder``.

:class:`TokenNet` is a mixin for ``torch.nn.Module`` subclasses: :meth:`TokenNet._build_token_net`
creates the layers on the module and :meth:`TokenNet._token_features` computes the features, so
both libraries train the same network. The layers' attribute names and creation order are part
of every saved SB3 checkpoint and fix how the seeded initialisation draws its numbers, so they
must not change: a published table's runs would no longer be reproduced bit for bit.

Imported only by the modules that have checked torch is installed.
"""

from __future__ import annotations

import math

import torch
from gymnasium import spaces
from torch import nn

#: The observation keys the network reads (an ``action_mask`` key is ignored here).
REQUIRED_KEYS = ("prompt_ids", "prompt_mask", "generated_ids", "generated_mask", "remaining")


class TokenNet:
    """Layers and forward pass of the token-id feature network (see the module docstring).

    Features: the embeddings of the last ``context_tokens`` generated tokens (a start token
    before the first) and of the position; a prompt encoding (token embeddings shared with the
    generation plus learned positions, one 1D convolution, masked mean); an attention read of
    the prompt queried by the position and the last token; the masked mean of the generated
    tokens and the fraction of the length budget left. A small MLP mixes them into
    ``features_dim`` outputs.
    """

    vocab_size: int
    max_prompt_len: int
    max_new_tokens: int
    context_tokens: int
    use_attention: bool
    _start_id: int
    _positions: torch.Tensor
    token_embedding: nn.Embedding
    prompt_position: nn.Embedding
    step_embedding: nn.Embedding
    prompt_conv: nn.Conv1d
    query: nn.Linear
    mix: nn.Sequential

    @staticmethod
    def _check_arguments(**values: int) -> None:
        """Raise ``ValueError`` naming the first argument out of range."""
        for name, value in values.items():
            if name == "conv_kernel":
                if value < 1 or value % 2 == 0:
                    raise ValueError(f"conv_kernel: expected an odd integer >= 1, got {value!r}")
            elif value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")

    def _build_token_net(
        self,
        prompt_space: spaces.Box,
        generated_space: spaces.Box,
        embed_dim: int,
        hidden_dim: int,
        features_dim: int,
        context_tokens: int,
        conv_kernel: int,
        attention: bool,
    ) -> None:
        """Create the layers on ``self`` (an ``nn.Module`` whose ``__init__`` has run)."""
        assert isinstance(self, nn.Module)
        self.vocab_size = int(max(prompt_space.high.max(), generated_space.high.max())) + 1
        self.max_prompt_len = int(prompt_space.shape[0])
        self.max_new_tokens = int(generated_space.shape[0])
        self.context_tokens = int(context_tokens)
        self.use_attention = bool(attention)
        self._start_id = self.vocab_size  # an extra row: "nothing generated yet"

        self.token_embedding = nn.Embedding(self.vocab_size + 1, embed_dim)
        self.prompt_position = nn.Embedding(self.max_prompt_len, embed_dim)
        self.step_embedding = nn.Embedding(self.max_new_tokens + 1, embed_dim)
        self.prompt_conv = nn.Conv1d(embed_dim, embed_dim, conv_kernel, padding=conv_kernel // 2)
        if self.use_attention:
            self.query = nn.Linear(2 * embed_dim, embed_dim)
        # prompt mean, [attention], context tokens, step, generated mean, plus remaining fraction
        num_vectors = 3 + self.context_tokens + int(self.use_attention)
        self.mix = nn.Sequential(
            nn.Linear(num_vectors * embed_dim + 1, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, features_dim),
            nn.ReLU(),
        )
        self.register_buffer("_positions", torch.arange(self.max_prompt_len), persistent=False)

    def _token_features(
        self,
        prompt_ids: torch.Tensor,
        prompt_mask: torch.Tensor,
        generated_ids: torch.Tensor,
        generated_mask: torch.Tensor,
        remaining: torch.Tensor,
    ) -> torch.Tensor:
        """Features ``(batch, features_dim)``: long ids in the vocabulary, boolean masks,
        ``remaining`` tokens ``(batch, 1)``."""
        num_generated = generated_mask.sum(dim=1)  # (batch,)

        prompt = self.token_embedding(prompt_ids) + self.prompt_position(self._positions)
        context = prompt + torch.relu(self.prompt_conv(prompt.transpose(1, 2))).transpose(1, 2)
        prompt_weights = prompt_mask.unsqueeze(-1).to(context.dtype)
        prompt_mean = (context * prompt_weights).sum(1) / prompt_weights.sum(1).clamp(min=1.0)

        recent = []
        for back in range(1, self.context_tokens + 1):
            index = (num_generated - back).clamp(min=0)
            token = generated_ids.gather(1, index.unsqueeze(1)).squeeze(1)
            token = torch.where(
                num_generated >= back, token, torch.full_like(token, self._start_id)
            )
            recent.append(self.token_embedding(token))
        step = self.step_embedding(num_generated.clamp(max=self.max_new_tokens))

        generated_weights = generated_mask.unsqueeze(-1).to(context.dtype)
        generated = self.token_embedding(generated_ids) * generated_weights
        generated_mean = generated.sum(1) / generated_weights.sum(1).clamp(min=1.0)
        remaining = remaining.to(context.dtype).reshape(-1, 1) / self.max_new_tokens

        vectors = [prompt_mean]
        if self.use_attention:
            query = self.query(torch.cat([recent[0], step], dim=1))
            scores = torch.einsum("bld,bd->bl", context, query) / math.sqrt(query.shape[1])
            # A large negative rather than -inf: an (invalid) all-padding prompt gives a uniform
            # read instead of NaNs.
            scores = scores.masked_fill(~prompt_mask, -1e9)
            weights = torch.softmax(scores, dim=1)
            vectors.append(torch.einsum("bl,bld->bd", weights, context))
        vectors += [*recent, step, generated_mean, remaining]
        return self.mix(torch.cat(vectors, dim=1))
