"""``TextDial``: dialogue response generation as a token-level MDP."""

from __future__ import annotations

from textgym.tasks.base import TaskEnv
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
    ``0.5 * BLEU / 100 + 0.5 * token F1`` (SQuAD-style F1), in [0, 1]; terminal by default,
    dense with ``reward_mode="dense"``. ``info["metrics"]`` at the end: ``score``, ``bleu``,
    ``f1``. Ceiling: emitting ``references[0]`` scores 1.0.

    ## Episode End
    ``terminated`` at EOS or after ``max_new_tokens`` tokens (longest reference + 1 by default).

    ## Arguments
    See :class:`textgym.tasks.base.TaskEnv`. ``difficulty`` sets vocabulary size, number of
    turns and distractors (``TextDial-Easy-v0``, ``TextDial-v0``, ``TextDial-Hard-v0``).
    Over-long contexts keep their end, the most recent turns (``truncation_side="left"``).

    ## Version History
    * v0: initial release.
    """

    family = "dialogue"
    generator_cls = DialogueGenerator
    difficulties = DIFFICULTIES
    default_reward = {"bleu": 0.5, "f1": 0.5}
    metric_names = ("bleu", "f1")
    default_prompt_template = "reply: {source}"
    default_truncation_side = "left"
