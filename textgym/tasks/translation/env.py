"""``TextTrans``: translation as a token-level MDP."""

from __future__ import annotations

from textgym.tasks.base import TaskEnv, TaskVersion
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
    v1: ``BLEU / 100 * content``, where ``content`` is content-word ROUGE-L F1
    (:mod:`textgym.metrics.content`: the longest common subsequence of the words that are not
    determiners, auxiliaries, "not", "by" or "and"), so a text scores only if it translates the
    nouns, verbs and adjectives, in order. v0: sentence BLEU (sacrebleu's definition) / 100.
    In [0, 1]; terminal by default, dense with ``reward_mode="dense"``. ``info["metrics"]`` at
    the end: ``score``, ``bleu``, ``chrf`` and (v1) ``content``. Ceiling: emitting
    ``references[0]`` scores 1.0.

    ## Episode End
    ``terminated`` at EOS or after ``max_new_tokens`` tokens (longest reference + 1 by default).

    ## Arguments
    See :class:`textgym.tasks.base.TaskEnv`. ``difficulty`` sets vocabulary size and sentence
    length (``TextTrans-Easy-v1``, ``TextTrans-v1`` = medium, ``TextTrans-Hard-v1``).

    ## Floors (v1)
    Degenerate policies scored with the v1 default reward on validation samples 0-199
    (:mod:`textgym.bench.floors`; ``textgym baselines`` prints them), in the order empty /
    best input-independent text / copied source / source cut to the length limit / shuffled
    reference / another sample's reference / reference followed by junk (the reference
    scores 1.0):

    * ``TextTrans-Easy-v1``: 0.000 / 0.009 / 0.000 / 0.000 / 0.189 / 0.010 / 0.270
    * ``TextTrans-v1``: 0.000 / 0.002 / 0.000 / 0.000 / 0.138 / 0.002 / 0.270
    * ``TextTrans-Hard-v1``: 0.000 / 0.001 / 0.000 / 0.000 / 0.095 / 0.001 / 0.273

    ## Version History
    * v1: reward BLEU x content-word ROUGE-L (v0's plain BLEU gave a constant string 0.11 on
      Easy); same data and tokenisation as v0.
    * v0: initial release.
    """

    family = "translation"
    generator_cls = TranslationGenerator
    difficulties = DIFFICULTIES
    default_reward = "bleu"
    metric_names = ("bleu", "chrf")
    default_prompt_template = "translate: {source}"
    default_truncation_side = "right"
    revisions = {
        1: TaskVersion(
            difficulties=DIFFICULTIES,
            default_reward="bleu*content",
            metric_names=("bleu", "chrf", "content"),
        )
    }
