"""Token-by-token decoding of a batch of episodes: KV-cached stepping and sampling controls."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from textgym.policies.lm.model import LMActorCritic


@dataclass(frozen=True)
class Sampling:
    """How the next token is drawn from the logits.

    The same transform is used to sample and to score a token, so log-probabilities (and the
    PPO ratio) are those of the distribution actually sampled from, top-k/top-p included.

    Args:
        temperature: Divides the logits (> 0).
        top_k: Keep the ``top_k`` most likely tokens (0: all).
        top_p: Keep the smallest set of most likely tokens with probability >= ``top_p``
            (nucleus sampling; 1.0: all).
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature: expected a number > 0, got {self.temperature!r}")
        if not isinstance(self.top_k, int) or self.top_k < 0:
            raise ValueError(f"top_k: expected an integer >= 0, got {self.top_k!r}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p: expected a number in (0, 1], got {self.top_p!r}")

    def transform(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits of the sampling distribution: scaled, tokens outside top-k/top-p at -inf."""
        logits = logits.float()
        if self.temperature != 1.0:
            logits = logits / self.temperature
        if 0 < self.top_k < logits.shape[-1]:
            kth = torch.topk(logits, self.top_k, dim=-1).values[..., -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if self.top_p < 1.0:
            sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
            probs = sorted_logits.softmax(dim=-1)
            # Drop a token when the more likely ones already reach top_p (the first one stays).
            drop_sorted = probs.cumsum(dim=-1) - probs >= self.top_p
            drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
            logits = logits.masked_fill(drop, float("-inf"))
        return logits

    def log_probs(self, logits: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of every token under the sampling distribution."""
        return torch.log_softmax(self.transform(logits), dim=-1)

    def sample(
        self,
        logits: torch.Tensor,
        generator: torch.Generator | None,
        greedy: torch.Tensor | bool = False,
    ) -> torch.Tensor:
        """One token per row ``(N,)``: argmax where ``greedy`` (bool or ``(N,)`` mask), else
        drawn with ``generator`` (the only source of randomness, for reproducible runs)."""
        argmax = logits.argmax(dim=-1)
        if isinstance(greedy, bool) and greedy:
            return argmax
        probs = self.transform(logits).softmax(dim=-1)
        drawn = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
        if isinstance(greedy, bool):
            return drawn
        return torch.where(greedy.to(drawn.device), argmax, drawn)


def entropy(log_probs: torch.Tensor) -> torch.Tensor:
    """Entropy of each distribution given its log-probabilities (``-inf`` entries allowed)."""
    probs = log_probs.exp()
    return -torch.where(probs > 0, probs * log_probs, 0.0).sum(dim=-1)


def left_align(
    ids: torch.Tensor, mask: torch.Tensor, pad_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift each right-padded row so its tokens end in the last column (padding first)."""
    width = ids.shape[1]
    lengths = mask.sum(dim=1, keepdim=True)
    source = torch.arange(width, device=ids.device) - (width - lengths)
    valid = source >= 0
    aligned = torch.gather(ids, 1, source.clamp(min=0))
    return torch.where(valid, aligned, pad_id), valid.to(mask.dtype)


def positions(mask: torch.Tensor) -> torch.Tensor:
    """Position ids counted from each row's first real token (padding gets 0)."""
    return (mask.long().cumsum(dim=1) - 1).clamp(min=0)


@dataclass
class DecodeState:
    """What a batch of episodes being decoded needs between steps.

    Attributes:
        use_cache: Keys and values are kept (``past``) instead of recomputing the prefix.
        past: The cache the model returned (``None`` when recomputing): a ``DynamicCache``, or
            for encoder-decoders an ``EncoderDecoderCache`` with the cross-attention keys and
            values of the prompt, computed at the first step and reused.
        tokens: Every token fed so far ``(N, S)``: decoder-only, the left-aligned prompt and
            the generated tokens; encoder-decoder, the decoder inputs. Kept in both modes
            (cheap) so the recompute path and debugging see the full sequence.
        mask: Attention mask over ``tokens`` (decoder-only) ``(N, S)``.
        next_position: Position id of the next token fed (decoder-only) ``(N,)``.
        encoder_outputs: The encoded prompt (encoder-decoder).
        prompt_mask: The prompt's attention mask (encoder-decoder cross-attention).
    """

    use_cache: bool
    past: Any
    tokens: torch.Tensor
    mask: torch.Tensor | None = None
    next_position: torch.Tensor | None = None
    encoder_outputs: Any = None
    prompt_mask: torch.Tensor | None = None


@torch.no_grad()
def start(
    policy: LMActorCritic, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, *, use_cache: bool
) -> tuple[DecodeState, torch.Tensor, torch.Tensor]:
    """See :meth:`LMActorCritic.start`."""
    model = policy.model
    with policy.autocast():
        if policy.is_encoder_decoder:
            encoder_outputs = model.get_encoder()(
                input_ids=prompt_ids, attention_mask=prompt_mask, return_dict=True
            )
            first = torch.full_like(prompt_ids[:, :1], policy.decoder_start_id)
            state = DecodeState(
                use_cache, None, first, encoder_outputs=encoder_outputs, prompt_mask=prompt_mask
            )
            return (state, *_decoder_step(policy, state, first))
        ids, mask = left_align(prompt_ids, prompt_mask, policy.pad_id)
        out = model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions(mask),
            use_cache=use_cache,
            output_hidden_states=True,
            **_last_logits_only(policy),
        )
    state = DecodeState(
        use_cache,
        _cache_of(out) if use_cache else None,
        ids,
        mask=mask,
        next_position=mask.sum(dim=1),
    )
    return state, *_heads(policy, out.logits[:, -1], out.hidden_states[-1][:, -1])


@torch.no_grad()
def advance(
    policy: LMActorCritic, state: DecodeState, tokens: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """See :meth:`LMActorCritic.advance`."""
    column = tokens.reshape(-1, 1).to(state.tokens.device)
    state.tokens = torch.cat([state.tokens, column], dim=1)
    with policy.autocast():
        if policy.is_encoder_decoder:
            return _decoder_step(policy, state, column)
        assert state.mask is not None and state.next_position is not None
        state.mask = torch.cat([state.mask, torch.ones_like(column, dtype=state.mask.dtype)], 1)
        if state.use_cache:
            out = policy.model(
                input_ids=column,
                attention_mask=state.mask,
                position_ids=state.next_position[:, None],
                use_cache=True,
                output_hidden_states=True,
                **{policy.cache_arg: state.past},
            )
            state.past = _cache_of(out)
        else:
            out = policy.model(
                input_ids=state.tokens,
                attention_mask=state.mask,
                position_ids=positions(state.mask),
                use_cache=False,
                output_hidden_states=True,
                **_last_logits_only(policy),
            )
    state.next_position = state.next_position + 1
    return _heads(policy, out.logits[:, -1], out.hidden_states[-1][:, -1])


def _last_logits_only(policy: LMActorCritic) -> dict[str, int]:
    # Only the last position's logits are used: skip the LM head on the others when the
    # model allows it (a (N, S, V) tensor at every step otherwise).
    return {"logits_to_keep": 1} if policy.keeps_logits else {}


def _decoder_step(
    policy: LMActorCritic, state: DecodeState, column: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    cache = {policy.cache_arg: state.past} if state.past is not None else {}
    # Every decoder position so far is attended, as without a mask (a finished episode's
    # outputs are discarded); passing it says so, and BERT decoders warn on pad ids without one.
    decoder_mask = torch.ones(
        state.tokens.shape, dtype=state.prompt_mask.dtype, device=state.tokens.device
    ) if state.prompt_mask is not None else None  # fmt: skip
    out = policy.model(
        encoder_outputs=state.encoder_outputs,
        attention_mask=state.prompt_mask,
        decoder_input_ids=column if state.use_cache else state.tokens,
        decoder_attention_mask=decoder_mask,
        use_cache=state.use_cache,
        output_hidden_states=True,
        **cache,
    )
    if state.use_cache:
        state.past = _cache_of(out)
    return _heads(policy, out.logits[:, -1], out.decoder_hidden_states[-1][:, -1])


def _cache_of(out: Any) -> Any:
    # The cache object the model returned (a DynamicCache, or an EncoderDecoderCache holding
    # the self- and cross-attention keys), fed back as is: never converted to legacy tuples.
    cache = out.get("cache")
    return cache if cache is not None else out.get("past_key_values")


def _heads(
    policy: LMActorCritic, logits: torch.Tensor, hidden: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    return logits.float(), policy.value_head(hidden.float()).squeeze(-1)
