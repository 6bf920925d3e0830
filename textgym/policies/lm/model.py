"""An actor-critic around a Hugging Face language model, with a reference policy for KL terms."""

from __future__ import annotations

import contextlib
import copy
import inspect
from collections.abc import Iterator, Mapping
from typing import Any, overload

try:
    import torch
    import transformers
    from torch import nn
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'textgym.policies.lm needs torch and transformers: pip install "textgym[lm]" '
        "(install a CPU build of torch first on machines without CUDA)"
    ) from error

from textgym.policies.lm.build import build_model, hidden_size, is_peft, with_lora
from textgym.policies.lm.decoding import DecodeState, advance, left_align, positions, start

__all__ = ["LMActorCritic", "build_model", "tiny_causal_lm_config", "tiny_seq2seq_config"]

REFERENCE_KINDS = ("frozen", "lora", None)


def tiny_causal_lm_config(
    vocab_size: int,
    *,
    n_positions: int = 256,
    n_embd: int = 128,
    n_layer: int = 2,
    n_head: int = 4,
    pad_id: int = 0,
    eos_id: int = 1,
) -> transformers.GPT2Config:
    """A small GPT-2 config (dropout off) for the env's vocabulary; builds offline.

    ``n_positions`` must cover ``max_prompt_len + max_new_tokens``.
    """
    return transformers.GPT2Config(
        vocab_size=vocab_size,
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )


def tiny_seq2seq_config(
    vocab_size: int,
    *,
    d_model: int = 128,
    num_layers: int = 2,
    num_heads: int = 4,
    d_ff: int = 256,
    pad_id: int = 0,
    eos_id: int = 1,
) -> transformers.T5Config:
    """A small T5 config (dropout off) for the env's vocabulary; the decoder starts from PAD."""
    return transformers.T5Config(
        vocab_size=vocab_size,
        d_model=d_model,
        d_kv=d_model // num_heads,
        d_ff=d_ff,
        num_layers=num_layers,
        num_decoder_layers=num_layers,
        num_heads=num_heads,
        dropout_rate=0.0,
        feed_forward_proj="relu",
        pad_token_id=pad_id,
        eos_token_id=eos_id,
        # A PretrainedConfig kwarg that T5Config takes at run time, though transformers 5's
        # dataclass signature leaves it out (4.x declares **kwargs: the ignore is then unused).
        decoder_start_token_id=pad_id,  # type: ignore[call-arg, unused-ignore]
    )


class LMActorCritic(nn.Module):
    """A language model policy with a value head on its trunk and an optional reference policy.

    Decoder-only models read ``prompt tokens, generated tokens``: the env's right-padded prompts
    are left-aligned (padding first, masked, positions counted from the first real token), so a
    batch of prompts of different lengths gives the logits of each prompt alone. Encoder-
    decoders encode the prompt once and decode from ``decoder_start_token_id`` (of the config,
    else of the generation config; the env's PAD when the model sets none, as a bare
    ``EncoderDecoderModel.from_encoder_decoder_pretrained`` does: :func:`bert2bert` sets CLS).
    The value head reads the decoder's last hidden states.

    Dropout should be off for RL (the tiny configs set it to 0): the PPO ratio compares the
    rollout's log-probabilities with the update's.

    Args:
        model: A causal LM or encoder-decoder (see :func:`build_model` for what is accepted).
        vocab_size: The env tokenizer's vocabulary size.
        pad_id: The env's padding id (fed for prompt padding and after an episode ends).
        eos_id: The env's end-of-sequence id, the action that ends an episode (the env decides:
            the policy only records it; :meth:`from_env` sets it); default: the model's
            ``eos_token_id``.
        reference: ``"frozen"``: a frozen copy of the weights at construction (memory: one more
            set of weights, no gradients or optimizer state; :meth:`reset_reference` refreshes
            it); ``"lora"``: wrap ``model`` in ``peft`` LoRA adapters, train only the adapters
            and the value head, and use the model with adapters disabled as reference (no
            extra copy); ``None``: no reference (no KL term).
        lora: ``peft.LoraConfig`` arguments for ``reference="lora"``.
        device: Where the model runs (``"cpu"``, ``"cuda"``...).
        bf16: bf16 autocast for forward passes; default: on for CUDA, off elsewhere.
    """

    def __init__(
        self,
        model: Any,
        *,
        vocab_size: int,
        pad_id: int = 0,
        eos_id: int | None = None,
        reference: str | None = "frozen",
        lora: Mapping[str, Any] | None = None,
        device: str | torch.device = "cpu",
        bf16: bool | None = None,
    ) -> None:
        super().__init__()
        if reference not in REFERENCE_KINDS:
            raise ValueError(f"reference: expected 'frozen', 'lora' or None, got {reference!r}")
        model = build_model(model, vocab_size=vocab_size)
        if reference == "lora" and not is_peft(model):
            model = with_lora(model, lora)
        self.model = model
        self.vocab_size = int(vocab_size)
        self.pad_id = int(pad_id)
        self.reference_kind = reference
        base = model.get_base_model() if is_peft(model) else model
        config = base.config
        self.is_encoder_decoder = bool(config.is_encoder_decoder)
        self.decoder_start_id = (
            _special_id(base, "decoder_start_token_id", self.pad_id)
            if self.is_encoder_decoder
            else self.pad_id
        )
        model_eos = _special_id(base, "eos_token_id", None)
        self.eos_id = int(eos_id) if eos_id is not None else model_eos
        hidden = hidden_size(config)
        self.value_head = nn.Linear(hidden, 1)
        nn.init.zeros_(self.value_head.weight)  # values start at 0: no noise in early advantages
        nn.init.zeros_(self.value_head.bias)
        self.reference: nn.Module | None = None
        if reference == "frozen":
            self.reference = self._frozen_copy()
        self.device_ = torch.device(device)
        self.bf16 = self.device_.type == "cuda" if bf16 is None else bool(bf16)
        self.to(self.device_)
        parameters = inspect.signature(base.forward).parameters
        self.keeps_logits = "logits_to_keep" in parameters
        # transformers 5 renamed the cache argument (and output) from past_key_values to cache,
        # deprecating the old name: use the one this version's model takes.
        self.cache_arg = "cache" if "cache" in parameters else "past_key_values"

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_env(
        cls,
        env: Any,
        model: Any = None,
        *,
        arch: str = "gpt2",
        width: int = 128,
        layers: int = 2,
        heads: int = 4,
        **kwargs: Any,
    ) -> LMActorCritic:
        """A policy for ``env`` (single or vector): vocabulary and ids from its tokenizer.

        Args:
            env: A textgym env or vector env.
            model: A model, config, Hub name or local path; ``None`` builds a tiny one from a
                config, its token ids those of the env's tokenizer.
            arch: The tiny model's kind when ``model`` is ``None``: ``"gpt2"``
                (:func:`tiny_causal_lm_config`, long enough for the env's prompts and
                generations) or ``"t5"`` (:func:`tiny_seq2seq_config`, ``d_ff = 2 * width``).
            width, layers, heads: The tiny model's size (ignored when ``model`` is given).
            **kwargs: Passed to the constructor (``reference``, ``lora``, ``device``...).
        """
        from textgym.policies.lm.rollout import task_of

        task = task_of(env)
        tok = task.tokenizer
        ids = {"pad_id": tok.pad_id, "eos_id": tok.eos_id}
        if model is None:
            if arch == "t5":
                model = tiny_seq2seq_config(
                    tok.vocab_size, d_model=width, num_layers=layers, num_heads=heads,
                    d_ff=2 * width, **ids,
                )  # fmt: skip
            elif arch == "gpt2":
                model = tiny_causal_lm_config(
                    tok.vocab_size, n_positions=task.max_prompt_len + task.max_new_tokens,
                    n_embd=width, n_layer=layers, n_head=heads, **ids,
                )  # fmt: skip
            else:
                raise ValueError(f"arch: expected 'gpt2' or 't5', got {arch!r}")
        return cls(model, vocab_size=tok.vocab_size, **{**ids, **kwargs})

    def _frozen_copy(self) -> nn.Module:
        frozen = copy.deepcopy(self.model)
        frozen.requires_grad_(False)
        return frozen.eval()

    def reset_reference(self) -> None:
        """Make the current weights the reference (e.g. after a supervised warm start)."""
        if self.reference_kind == "frozen":
            self.reference = self._frozen_copy().to(self.device_)

    def train(self, mode: bool = True) -> LMActorCritic:
        """Set training mode; the frozen reference always stays in eval mode (no dropout)."""
        super().train(mode)
        if self.reference is not None:
            self.reference.eval()
        return self

    @property
    def device(self) -> torch.device:
        return self.device_

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Parameters with gradients: the model (or its LoRA adapters) and the value head."""
        return [p for p in self.parameters() if p.requires_grad]

    def memory_report(self) -> dict[str, int]:
        """Parameter counts: trainable, frozen reference copy, value head."""
        reference = self.reference.parameters() if self.reference is not None else ()
        return {
            "trainable_params": sum(p.numel() for p in self.trainable_parameters()),
            "model_params": sum(p.numel() for p in self.model.parameters()),
            "reference_params": sum(p.numel() for p in reference),
            "value_head_params": sum(p.numel() for p in self.value_head.parameters()),
        }

    # ------------------------------------------------------------------ forward passes
    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast on CUDA when enabled; nothing otherwise."""
        if self.bf16 and self.device_.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def _reference_model(self) -> Iterator[nn.Module]:
        if self.reference_kind == "lora":
            with self.model.disable_adapter():
                yield self.model
        elif self.reference is not None:
            yield self.reference
        else:
            raise RuntimeError("reference: this policy was built with reference=None")

    def sequence_outputs(
        self,
        prompt_ids: torch.Tensor,
        prompt_mask: torch.Tensor,
        actions: torch.Tensor,
        action_mask: torch.Tensor,
        *,
        with_values: bool = True,
        reference: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher-forced logits (and values) of every action of a batch of episodes.

        Args:
            prompt_ids: ``(N, P)`` right-padded prompt ids, as the env returns them.
            prompt_mask: ``(N, P)``, 1 on prompt tokens.
            actions: ``(N, T)`` the tokens chosen (EOS included), padding after the end.
            action_mask: ``(N, T)``, 1 on real actions.
            with_values: Also return the value of the state before each action.
            reference: Use the reference policy (no gradients, no values).

        Returns:
            float32 logits ``(N, T, V)`` for action ``t`` given the prompt and actions ``< t``,
            and values ``(N, T)`` (``None`` without ``with_values`` or with ``reference``).
        """
        if reference:
            with torch.no_grad(), self._reference_model() as ref:
                logits, _ = self._teacher_forced(
                    ref, prompt_ids, prompt_mask, actions, action_mask, need_hidden=False
                )
            return logits, None
        logits, hidden = self._teacher_forced(
            self.model, prompt_ids, prompt_mask, actions, action_mask, need_hidden=with_values
        )
        # hidden is not None exactly when with_values (need_hidden above).
        values = self.value_head(hidden.float()).squeeze(-1) if hidden is not None else None
        return logits, values

    def _teacher_forced(
        self,
        model: nn.Module,
        prompt_ids: torch.Tensor,
        prompt_mask: torch.Tensor,
        actions: torch.Tensor,
        action_mask: torch.Tensor,
        *,
        need_hidden: bool,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        steps = actions.shape[1]
        with self.autocast():
            if self.is_encoder_decoder:
                start_col = torch.full_like(actions[:, :1], self.decoder_start_id)
                # The padding after an episode's end changes no earlier position (the decoder is
                # causal), but masking it says so: BERT decoders warn on unmasked pad ids.
                decoder_mask = torch.cat(
                    [torch.ones_like(action_mask[:, :1]), action_mask[:, :-1]], dim=1
                ).to(prompt_mask.dtype)
                out = model(
                    input_ids=prompt_ids,
                    attention_mask=prompt_mask,
                    decoder_input_ids=torch.cat([start_col, actions[:, :-1]], dim=1),
                    decoder_attention_mask=decoder_mask,
                    output_hidden_states=need_hidden,
                    use_cache=False,
                )
                logits = out.logits
                hidden = out.decoder_hidden_states[-1] if need_hidden else None
            else:
                ids, mask = left_align(prompt_ids, prompt_mask, self.pad_id)
                ids = torch.cat([ids, actions], dim=1)
                mask = torch.cat([mask, action_mask.to(mask.dtype)], dim=1)
                keep = {"logits_to_keep": steps + 1} if self.keeps_logits else {}
                out = model(
                    input_ids=ids,
                    attention_mask=mask,
                    position_ids=positions(mask),
                    output_hidden_states=need_hidden,
                    use_cache=False,
                    **keep,
                )
                # Position P - 1 + t predicts action t: the last prompt token predicts the first.
                logits = out.logits[:, -steps - 1 : -1]
                hidden = out.hidden_states[-1][:, -steps - 1 : -1] if need_hidden else None
        return logits.float(), hidden

    # ------------------------------------------------------------------ stepping
    def start(
        self, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, *, use_cache: bool = True
    ) -> tuple[DecodeState, torch.Tensor, torch.Tensor]:
        """Begin decoding a batch: the state, the first logits ``(N, V)`` and values ``(N,)``.

        ``use_cache=False`` recomputes the whole prefix at every step instead of keeping keys
        and values (same outputs within float tolerance; for comparisons and tests).
        """
        return start(self, prompt_ids, prompt_mask, use_cache=use_cache)

    def advance(
        self, state: DecodeState, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Feed one token per episode ``(N,)``: the next logits ``(N, V)`` and values ``(N,)``."""
        return advance(self, state, tokens)


@overload
def _special_id(model: Any, name: str, default: int) -> int: ...


@overload
def _special_id(model: Any, name: str, default: None) -> int | None: ...


def _special_id(model: Any, name: str, default: int | None) -> int | None:
    """A token id from the config, else the generation config (transformers 5 keeps some of
    them only there), else ``default``."""
    for source in (model.config, getattr(model, "generation_config", None)):
        value = getattr(source, name, None)
        if isinstance(value, list):  # several EOS ids: the first is the model's own
            value = value[0] if value else None
        if isinstance(value, int):
            return value
    return default
