"""Per-step action masks that shrink the token vocabulary, for sb3-contrib's MaskablePPO.

With a sparse end-of-episode reward over a vocabulary of hundreds of tokens, an unmasked policy
almost never stumbles on a rewarding text; restricting the candidate tokens is what makes
on-policy RL from scratch work (see DESIGN.md). :class:`ActionMaskWrapper` exposes
``action_masks() -> np.ndarray[bool] (vocab_size,)``, the method MaskablePPO looks for.

Modes:

- ``"bigram"`` (the one to report): a proposal distribution fitted on the **train split's
  references** with :func:`fit_bigram`. Allowed: the ``k`` most frequent successors of the last
  generated token (backing off to the most frequent tokens overall), every token of the prompt
  (a copy mechanism: summaries and replies reuse source words), the ``lexicon_k`` reference
  tokens most associated with each prompt token (a translation table from co-occurrence
  counts: translations map words rather than copy them), and EOS.
- ``"target_vocab"``: every token seen in a train reference, and EOS (no per-sample information).
- ``"reference_vocab"``: the tokens of the *current sample's own references*, and EOS. This leaks
  the answer's bag of words, so it is an **oracle curriculum aid**: scores obtained with it must
  not be reported as results.

The wrapper does not enforce its mask: a masked action is still executed by the env.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, SupportsFloat, cast

import gymnasium as gym
import numpy as np

if TYPE_CHECKING:
    from textgym.core.env import TokenMDPEnv

__all__ = ["MASK_MODES", "ActionMaskWrapper", "BigramModel", "fit_bigram"]

MaskMode = Literal["bigram", "target_vocab", "reference_vocab"]
MASK_MODES: tuple[str, ...] = ("bigram", "target_vocab", "reference_vocab")


@dataclass(frozen=True)
class BigramModel:
    """Next-token counts of a set of reference texts, ``prev -> next``.

    Plain numpy arrays, so the model pickles and is shared cheaply between envs. The start of a
    text is the context id ``vocab_size`` (one past the last token).

    Attributes:
        vocab_size: Size of the tokenizer's vocabulary the ids belong to.
        eos_id: The end-of-sequence id; every text ends with a transition to it.
        pairs: ``(n, 2)`` int64 distinct ``(prev, next)`` transitions, ``prev`` in
            ``[0, vocab_size]``.
        counts: ``(n,)`` int64 how often each pair occurred.
        unigram: ``(vocab_size,)`` int64 how often each token occurred (EOS included).
        num_texts: How many reference texts were counted.
        cooccur_pairs: ``(m, 2)`` int64 distinct ``(prompt token, reference token)`` pairs seen
            in the same sample (empty if the model was fitted without prompts).
        cooccur_counts: ``(m,)`` int64 in how many samples each pair co-occurred.
        prompt_df: ``(vocab_size,)`` int64 in how many samples' prompts each token occurred.
        reference_df: ``(vocab_size,)`` int64 in how many samples' references each token occurred.
    """

    vocab_size: int
    eos_id: int
    pairs: np.ndarray
    counts: np.ndarray
    unigram: np.ndarray
    num_texts: int
    cooccur_pairs: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    cooccur_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    prompt_df: np.ndarray | None = None
    reference_df: np.ndarray | None = None

    @property
    def start_id(self) -> int:
        """The context id used before the first generated token."""
        return self.vocab_size

    @classmethod
    def from_token_ids(
        cls, texts: Iterable[Iterable[int]], vocab_size: int, eos_id: int
    ) -> BigramModel:
        """Count the transitions of tokenised texts (EOS is appended to each).

        Raises:
            ValueError: If a token id is outside ``[0, vocab_size)`` or no text is given.
        """
        pair_counts: Counter[tuple[int, int]] = Counter()
        unigram = np.zeros(vocab_size, dtype=np.int64)
        num_texts = 0
        for text in texts:
            ids = [int(i) for i in text] + [int(eos_id)]
            for token in ids:
                if not 0 <= token < vocab_size:
                    raise ValueError(f"token id {token} is outside [0, {vocab_size})")
                unigram[token] += 1
            pair_counts.update(zip([vocab_size, *ids[:-1]], ids, strict=True))
            num_texts += 1
        if num_texts == 0:
            raise ValueError("no texts to fit a bigram model on")
        ordered = sorted(pair_counts.items())  # deterministic layout whatever the input order
        pairs = np.array([pair for pair, _ in ordered], dtype=np.int64).reshape(-1, 2)
        counts = np.array([count for _, count in ordered], dtype=np.int64)
        return cls(int(vocab_size), int(eos_id), pairs, counts, unigram, num_texts)

    def top_k_table(self, k: int) -> np.ndarray:
        """``(vocab_size + 1, k)`` int64: the ``k`` likeliest next tokens after each context.

        Ties break towards the lower id; a context with fewer than ``k`` observed successors is
        filled with the most frequent tokens overall (unigram backoff), then the lowest ids.

        Raises:
            ValueError: If ``k`` is not an integer in ``[1, vocab_size]``.
        """
        _check_k(k, self.vocab_size)
        # Unigram order first: the backoff list, and the filler for unseen contexts.
        backoff = np.lexsort((np.arange(self.vocab_size), -self.unigram))
        table = np.empty((self.vocab_size + 1, k), dtype=np.int64)
        table[:] = backoff[:k]
        order = np.lexsort((self.pairs[:, 1], -self.counts, self.pairs[:, 0]))
        prevs, nexts = self.pairs[order, 0], self.pairs[order, 1]
        starts: np.ndarray | list[int] = (
            np.flatnonzero(np.r_[True, prevs[1:] != prevs[:-1]]) if len(prevs) else []
        )
        bounds = [*starts, len(prevs)]
        for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
            seen = nexts[begin : min(end, begin + k)]
            if len(seen) < k:
                fill = backoff[~np.isin(backoff, seen)][: k - len(seen)]
                seen = np.concatenate([seen, fill])
            table[prevs[begin]] = seen
        return table

    def with_cooccurrence(
        self, samples: Iterable[tuple[Iterable[int], Iterable[Iterable[int]]]]
    ) -> BigramModel:
        """A copy that also counts which prompt tokens co-occur with which reference tokens.

        Args:
            samples: ``(prompt_ids, [reference_ids, ...])`` per sample.
        """
        pair_counts: Counter[tuple[int, int]] = Counter()
        prompt_df = np.zeros(self.vocab_size, dtype=np.int64)
        reference_df = np.zeros(self.vocab_size, dtype=np.int64)
        for prompt, references in samples:
            prompt_set = sorted(set(int(i) for i in prompt))
            reference_set = sorted({int(i) for ref in references for i in ref})
            prompt_df[prompt_set] += 1
            reference_df[reference_set] += 1
            pair_counts.update((s, t) for s in prompt_set for t in reference_set)
        ordered = sorted(pair_counts.items())
        pairs = np.array([pair for pair, _ in ordered], dtype=np.int64).reshape(-1, 2)
        counts = np.array([count for _, count in ordered], dtype=np.int64)
        return replace(
            self,
            cooccur_pairs=pairs,
            cooccur_counts=counts,
            prompt_df=prompt_df,
            reference_df=reference_df,
        )

    def lexicon_table(self, k: int) -> np.ndarray:
        """``(vocab_size, k)`` int64: the ``k`` reference tokens most associated with each prompt
        token (Dice coefficient of the samples they occur in; ties towards the lower id).

        A learned "translation table": in a task whose output words are not copied but mapped
        from source words, it proposes the mapped words. Rows of prompt tokens never seen are
        EOS (always allowed anyway).

        Raises:
            ValueError: If ``k`` is out of range or the model was fitted without prompts.
        """
        _check_k(k, self.vocab_size)
        if self.prompt_df is None or self.reference_df is None:
            raise ValueError("lexicon: the model has no co-occurrence counts; see fit_bigram")
        source, target = self.cooccur_pairs[:, 0], self.cooccur_pairs[:, 1]
        dice = 2.0 * self.cooccur_counts / (self.prompt_df[source] + self.reference_df[target])
        table = np.full((self.vocab_size, k), self.eos_id, dtype=np.int64)
        order = np.lexsort((target, -dice, source))
        source, target = source[order], target[order]
        starts: np.ndarray | list[int] = (
            np.flatnonzero(np.r_[True, source[1:] != source[:-1]]) if len(source) else []
        )
        bounds = [*starts, len(source)]
        for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
            best = target[begin : min(end, begin + k)]
            table[source[begin], : len(best)] = best
        return table


def fit_bigram(
    env: str | gym.Env,
    num_samples: int = 5000,
    split: str = "train",
    **env_kwargs: Any,
) -> BigramModel:
    """Fit a :class:`BigramModel` on the references of the first ``num_samples`` samples.

    Args:
        env: A registered id (``"TextSumm-Easy-v0"``) or an env made from one. For an env of the
            embedded data, the model is fitted on its ``split`` (``"train"`` by default), built
            with the env's own spec kwargs, whatever split the env itself serves, so a
            validation env is masked with a model that has never seen validation references.
            An env on user ``data`` is fitted on that data as it is.
        num_samples: How many samples (from index 0) to read; fewer if the split is smaller.
        split: The embedded split to fit on.
        **env_kwargs: Extra ``gym.make`` kwargs when ``env`` is an id (e.g. ``data_seed``).

    Returns:
        The fitted model; its ``vocab_size`` matches the env's tokenizer.

    Raises:
        ValueError: If ``num_samples < 1``.
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples: expected an integer >= 1, got {num_samples!r}")
    if isinstance(env, str):
        fit_env = gym.make(env, **{**env_kwargs, "split": split})
    else:
        env_split = getattr(env.unwrapped, "split", None)
        if env_split is not None and env_split != split and env.spec:
            fit_env = gym.make(env.spec.id, **{**env.spec.kwargs, **env_kwargs, "split": split})
        else:
            fit_env = env
    base = _text_env(fit_env)
    tokenizer = base.tokenizer
    samples = []
    for index in range(min(num_samples, len(base.dataset))):
        # Read the dataset rather than reset(): fitting must not disturb the caller's episode.
        sample = base.dataset[index]
        prompt = tokenizer.encode(base.prompt_template.format(source=sample.source))
        references = [tokenizer.encode(reference) for reference in sample.references]
        samples.append((prompt, references))
    model = BigramModel.from_token_ids(
        (reference for _, references in samples for reference in references),
        int(tokenizer.vocab_size),
        int(tokenizer.eos_id),
    ).with_cooccurrence(samples)
    if fit_env is not env:
        fit_env.close()
    return model


class ActionMaskWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Adds ``action_masks()`` to a textgym env, for sb3-contrib's ``MaskablePPO``.

    Observations, rewards and spaces are unchanged. The mask of the current state is computed
    once per ``reset``/``step``: an episode part fixed at reset (prompt tokens, their lexicon
    proposals, or the oracle's reference vocabulary) plus, in ``"bigram"`` mode, the top-``k``
    successors of the last generated token read from the observation. EOS is always allowed,
    so a mask is never all false.

    Args:
        env: A textgym env (any wrapper of one).
        mode: ``"bigram"``, ``"target_vocab"`` or ``"reference_vocab"`` (oracle; see the module
            docstring before using it).
        bigram: The :class:`BigramModel` for ``"bigram"`` and ``"target_vocab"``; ``None`` fits
            one on the env's train split with :func:`fit_bigram`.
        k: How many bigram successors of the last token are allowed (``"bigram"`` only).
        copy_prompt: Whether the prompt's own tokens are allowed (``"bigram"`` only).
        lexicon_k: How many associated reference tokens each prompt token proposes
            (:meth:`BigramModel.lexicon_table`; ``"bigram"`` only). 0 turns it off. Needed
            where output words are translated rather than copied (``TextTrans``).
        num_fit_samples: ``num_samples`` of the fit when ``bigram`` is ``None``.

    Raises:
        ValueError: For an unknown mode, a bad ``k`` or ``lexicon_k``, or a model of another
            vocabulary.

    Example:
        >>> env = ActionMaskWrapper(gym.make("TextSumm-Easy-v0"), mode="bigram", k=8)
        >>> obs, info = env.reset(seed=0)
        >>> bool(env.action_masks()[env.unwrapped.tokenizer.eos_id])
        True
    """

    def __init__(
        self,
        env: gym.Env,
        mode: MaskMode = "bigram",
        bigram: BigramModel | None = None,
        k: int = 8,
        copy_prompt: bool = True,
        lexicon_k: int = 2,
        num_fit_samples: int = 5000,
    ) -> None:
        # Recorded so that gymnasium can rebuild the wrapper stack from env.spec (check_env does).
        gym.utils.RecordConstructorArgs.__init__(
            self,
            mode=mode,
            bigram=bigram,
            k=k,
            copy_prompt=copy_prompt,
            lexicon_k=lexicon_k,
            num_fit_samples=num_fit_samples,
        )
        gym.Wrapper.__init__(self, env)
        if mode not in MASK_MODES:
            raise ValueError(
                f"mode: expected one of {', '.join(map(repr, MASK_MODES))}, got {mode!r}"
            )
        tokenizer = _text_env(env).tokenizer
        self.vocab_size = int(tokenizer.vocab_size)
        self.eos_id = int(tokenizer.eos_id)
        self.mode = mode
        self.k = k
        self.copy_prompt = bool(copy_prompt)
        self.lexicon_k = lexicon_k
        if mode == "bigram":
            _check_k(k, self.vocab_size)
            _check_k(lexicon_k, self.vocab_size, name="lexicon_k", zero_ok=True)
        self.bigram: BigramModel | None = None
        self._top_k: np.ndarray | None = None
        self._lexicon: np.ndarray | None = None
        self._target_vocab: np.ndarray | None = None
        if mode in ("bigram", "target_vocab"):
            if bigram is None:
                bigram = fit_bigram(env, num_samples=num_fit_samples)
            if bigram.vocab_size != self.vocab_size:
                raise ValueError(
                    f"bigram: fitted on a vocabulary of {bigram.vocab_size} tokens, "
                    f"the env has {self.vocab_size}; fit it on the same env id and kwargs"
                )
            self.bigram = bigram
            if mode == "target_vocab":
                self._target_vocab = bigram.unigram > 0
            else:
                self._top_k = bigram.top_k_table(k)
                if lexicon_k:
                    self._lexicon = bigram.lexicon_table(lexicon_k)
        self._episode_vocab = np.zeros(self.vocab_size, dtype=bool)
        self._mask = np.ones(self.vocab_size, dtype=bool)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the env and compute the first mask."""
        obs, info = self.env.reset(seed=seed, options=options)
        vocab = np.zeros(self.vocab_size, dtype=bool)
        if self.mode == "reference_vocab":
            base = _text_env(self.env)
            tokenizer = base.tokenizer
            sample = base.sample
            assert sample is not None  # reset() has just drawn one
            # From the env, not info: envs built with info_references=False leave them out.
            for reference in sample.references:
                vocab[tokenizer.encode(reference)] = True
        elif self.mode == "target_vocab":
            assert self._target_vocab is not None
            vocab |= self._target_vocab
        else:
            prompt = np.asarray(obs["prompt_ids"])[np.asarray(obs["prompt_mask"]).astype(bool)]
            if self.copy_prompt:
                vocab[prompt] = True
            if self._lexicon is not None:
                vocab[self._lexicon[prompt]] = True
        vocab[self.eos_id] = True
        self._episode_vocab = vocab
        self._mask = self._compute_mask(obs)
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and compute the mask of the new state."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._mask = self._compute_mask(obs)
        return obs, reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """``(vocab_size,)`` bool: the tokens allowed in the current state (a fresh copy)."""
        return self._mask.copy()

    def _compute_mask(self, obs: Mapping[str, np.ndarray]) -> np.ndarray:
        mask = self._episode_vocab.copy()
        if self._top_k is not None:
            num_generated = int(np.asarray(obs["generated_mask"]).sum())
            prev = self.vocab_size  # the start context
            if num_generated:
                prev = int(obs["generated_ids"][num_generated - 1])
            mask[self._top_k[prev]] = True
        return mask


def _check_k(k: Any, vocab_size: int, name: str = "k", zero_ok: bool = False) -> None:
    low = 0 if zero_ok else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not low <= k <= vocab_size:
        raise ValueError(
            f"{name}: expected an integer in [{low}, {vocab_size}] (the vocabulary size), got {k!r}"
        )


def _text_env(env: gym.Env) -> TokenMDPEnv:
    """The textgym env under ``env``'s wrappers, whose tokenizer, dataset and sample are read."""
    # Only for the type checker: gym types ``unwrapped`` as a bare Env; nothing is checked at run
    # time, so any env with the same attributes still works.
    return cast("TokenMDPEnv", env.unwrapped)
