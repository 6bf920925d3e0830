"""``TextSumm``: summarization as a token-level MDP."""

from __future__ import annotations

from textgym.tasks.base import TaskEnv
from textgym.tasks.summarization.generator import DIFFICULTIES, SummarizationGenerator


class TextSummEnv(TaskEnv):
    """Summarize a generated report: select the key facts among background, compress them.

    ## Description
    Each embedded document reports a fictional event (several event types) in a few key-fact
    sentences mixed with background sentences; the reference summary states the key facts in a
    compressed template. Every content word of the summary occurs in the document, so the task
    is learnable by selection and compression. Prompt: ``"summarize: {source}"``.

    ## Observation Space
    ``Dict`` of integer ``Box`` arrays: ``prompt_ids``, ``prompt_mask``, ``generated_ids``,
    ``generated_mask``, ``remaining`` (see :class:`textgym.core.env.TokenMDPEnv`).

    ## Action Space
    ``Discrete(vocab_size)``: the next token of the summary; EOS ends it.

    ## Rewards
    ROUGE-L F1 with Porter stemming (rouge-score's definition), in [0, 1]; terminal by default,
    dense with ``reward_mode="dense"``. ``info["metrics"]`` at the end: ``score``, ``rouge1``,
    ``rouge2``, ``rougeL``. Ceiling: emitting ``references[0]`` scores 1.0.

    ## Episode End
    ``terminated`` at EOS or after ``max_new_tokens`` tokens (longest reference + 1 by default).

    ## Arguments
    See :class:`textgym.tasks.base.TaskEnv`. ``difficulty`` sets vocabulary size, document
    length and number of key facts (``TextSumm-Easy-v0``, ``TextSumm-v0``, ``TextSumm-Hard-v0``).
    Over-long prompts keep their start (``truncation_side="right"``).

    ## Version History
    * v0: initial release.
    """

    family = "summarization"
    generator_cls = SummarizationGenerator
    difficulties = DIFFICULTIES
    default_reward = "rougeL"
    metric_names = ("rouge1", "rouge2", "rougeL")
    default_prompt_template = "summarize: {source}"
    default_truncation_side = "right"
