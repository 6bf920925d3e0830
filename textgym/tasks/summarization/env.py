"""``TextSumm``: summarization as a token-level MDP."""

from __future__ import annotations

from textgym.tasks.base import TaskEnv, TaskVersion
from textgym.tasks.summarization.generator import (
    DIFFICULTIES,
    DIFFICULTIES_V1,
    SummarizationGenerator,
)


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
    v1: ``rougeL * content``: ROUGE-L F1 with Porter stemming (rouge-score's definition) times
    content-word ROUGE-L F1 (:mod:`textgym.metrics.content`: the longest common subsequence of
    the summary's facts, every word that is not one of the summary templates' fixed words), so
    template words alone, facts out of order or a copied document score low. v0: ROUGE-L F1.
    In [0, 1]; terminal by default, dense with ``reward_mode="dense"``. ``info["metrics"]`` at
    the end: ``score``, ``rouge1``, ``rouge2``, ``rougeL`` and (v1) ``content``. Ceiling:
    emitting ``references[0]`` scores 1.0.

    ## Episode End
    ``terminated`` at EOS or after ``max_new_tokens`` tokens (longest reference + 1 by default).

    ## Arguments
    See :class:`textgym.tasks.base.TaskEnv`. ``difficulty`` sets vocabulary size, document
    length and number of key facts (``TextSumm-Easy-v1``, ``TextSumm-v1``, ``TextSumm-Hard-v1``).
    Over-long prompts keep their start (``truncation_side="right"``).

    ## Floors (v1)
    Degenerate policies scored with the v1 default reward on validation samples 0-199
    (:mod:`textgym.bench.floors`; ``textgym baselines`` prints them), in the order empty /
    best input-independent text / copied source / source cut to the length limit / shuffled
    reference / another sample's reference / reference followed by junk (the reference
    scores 1.0):

    * ``TextSumm-Easy-v1``: 0.000 / 0.049 / 0.071 / 0.080 / 0.288 / 0.026 / 0.341
    * ``TextSumm-v1``: 0.000 / 0.029 / 0.043 / 0.060 / 0.242 / 0.009 / 0.313
    * ``TextSumm-Hard-v1``: 0.000 / 0.018 / 0.017 / 0.035 / 0.203 / 0.009 / 0.300

    ## Version History
    * v1: the lead sentence goes anywhere in the document (v0: always first, so copying the
      opening sentence scored 0.52 on Easy); reward ROUGE-L x content-word ROUGE-L (v0's
      ROUGE-L gave a constant string 0.31-0.44 on Easy).
    * v0: initial release.
    """

    family = "summarization"
    generator_cls = SummarizationGenerator
    difficulties = DIFFICULTIES
    default_reward = "rougeL"
    metric_names = ("rouge1", "rouge2", "rougeL")
    default_prompt_template = "summarize: {source}"
    default_truncation_side = "right"
    revisions = {
        1: TaskVersion(
            difficulties=DIFFICULTIES_V1,
            default_reward="rougeL*content",
            metric_names=("rouge1", "rouge2", "rougeL", "content"),
        )
    }
