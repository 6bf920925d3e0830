"""``TextDial``: dialogue response generation as a token-level MDP."""

from __future__ import annotations

from textgym.tasks.base import TaskEnv, TaskVersion
from textgym.tasks.dialogue.generator import DIFFICULTIES, DialogueGenerator


class TextDialEnv(TaskEnv):
    """Reply to the last turn of a dialogue, using facts stated earlier in it.

    ## Description
    Each embedded context is a few speaker-tagged turns that state facts (with distractor facts
    and small talk) and end with a question about one of them; the reference reply answers with
    the right fact. Prompt: ``"reply: {source}"``.

    ## Observation Space
    ``Dict`` of integer ``Box`` arrays: ``prompt_ids``, ``prompt_mask``, ``generated_ids``,
    ``generated_mask``, ``remaining`` (see :class:`textgym.core.env.TokenMDPEnv`).

    ## Action Space
    ``Discrete(vocab_size)``: the next token of the reply; EOS ends it.

    ## Rewards
    v1: ``BLEU / 100 * content``, where ``content`` is content-word ROUGE-L F1
    (:mod:`textgym.metrics.content`: the longest common subsequence of the reply's keys and
    values, every word that is not one of the reply templates' fixed words). Both factors are
    order-sensitive, so the reference's words shuffled score low, and a fluent reply with the
    wrong fact scores near 0. v0: ``0.5 * BLEU / 100 + 0.5 * token F1`` (SQuAD-style F1). In
    [0, 1]; terminal by default, dense with ``reward_mode="dense"``. ``info["metrics"]`` at the
    end: ``score``, ``bleu``, ``f1`` and (v1) ``content``. Ceiling: emitting ``references[0]``
    scores 1.0.

    ## Episode End
    ``terminated`` at EOS or after ``max_new_tokens`` tokens (longest reference + 1 by default).

    ## Arguments
    See :class:`textgym.tasks.base.TaskEnv`. ``difficulty`` sets vocabulary size, number of
    turns and distractors (``TextDial-Easy-v1``, ``TextDial-v1``, ``TextDial-Hard-v1``).
    Over-long contexts keep their end, the most recent turns (``truncation_side="left"``).

    ## Floors (v1)
    Degenerate policies scored with the v1 default reward on validation samples 0-199
    (:mod:`textgym.bench.floors`; ``textgym baselines`` prints them), in the order empty /
    best input-independent text / copied source / source cut to the length limit / shuffled
    reference / another sample's reference / reference followed by junk (the reference
    scores 1.0):

    * ``TextDial-Easy-v1``: 0.000 / 0.013 / 0.017 / 0.057 / 0.180 / 0.009 / 0.221
    * ``TextDial-v1``: 0.000 / 0.008 / 0.008 / 0.012 / 0.165 / 0.002 / 0.224
    * ``TextDial-Hard-v1``: 0.000 / 0.011 / 0.002 / 0.004 / 0.130 / 0.006 / 0.221

    ## Version History
    * v1: reward BLEU x content-word ROUGE-L (v0's 0.5 BLEU + 0.5 F1 gave a constant string
      0.31 and the shuffled reference 0.59 on Easy); same data and tokenisation as v0.
    * v0: initial release.
    """

    family = "dialogue"
    generator_cls = DialogueGenerator
    difficulties = DIFFICULTIES
    default_reward = {"bleu": 0.5, "f1": 0.5}
    metric_names = ("bleu", "f1")
    default_prompt_template = "reply: {source}"
    default_truncation_side = "left"
    revisions = {
        1: TaskVersion(
            difficulties=DIFFICULTIES,
            default_reward="bleu*content",
            metric_names=("bleu", "f1", "content"),
        )
    }
