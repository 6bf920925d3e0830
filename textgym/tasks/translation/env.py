"""``TextTrans``: translation as a token-level MDP."""

from __future__ import annotations

from textgym.tasks.base import TaskEnv
from textgym.tasks.translation.generator import DIFFICULTIES, TranslationGenerator


class TextTransEnv(TaskEnv):
    """Translate a sentence of a synthetic source language into simple English.

    ## Description
    The embedded source language (generated from ``data_seed``) has its own pseudo-word lexicon,
    subject-object-verb order, adjectives after the noun, a definiteness particle and number and
    tense suffixes; the English target is subject-verb-object with adjectives before the noun and
    subject-verb agreement. A policy must learn the lexicon, the reordering and the morphology.
    Prompt: ``"translate: {source}"``.

    ## Observation Space
    ``Dict`` of integer ``Box`` arrays: ``prompt_ids``, ``prompt_mask``, ``generated_ids``,
    ``generated_mask``, ``remaining`` (see :class:`textgym.core.env.TokenMDPEnv`).

    ## Action Space
    ``Discrete(vocab_size)``: the next token of the English translation; EOS ends it.

    ## Rewards
    Sentence BLEU (sacrebleu's definition) / 100, in [0, 1]; terminal by default, dense with
    ``reward_mode="dense"``. ``info["metrics"]`` at the end: ``score``, ``bleu``, ``chrf``.
    Ceiling: emitting ``references[0]`` scores 1.0.

    ## Episode End
    ``terminated`` at EOS or after ``max_new_tokens`` tokens (longest reference + 1 by default).

    ## Arguments
    See :class:`textgym.tasks.base.TaskEnv`. ``difficulty`` sets vocabulary size and sentence
    length (``TextTrans-Easy-v0``, ``TextTrans-v0`` = medium, ``TextTrans-Hard-v0``).

    ## Version History
    * v0: initial release.
    """

    family = "translation"
    generator_cls = TranslationGenerator
    difficulties = DIFFICULTIES
    default_reward = "bleu"
    metric_names = ("bleu", "chrf")
    default_prompt_template = "translate: {source}"
    default_truncation_side = "right"
