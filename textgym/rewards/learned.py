"""Learned rewards: a reward model, or any function ``(sources, generations, references)``.

:class:`LearnedReward` wraps a batched function

    ``fn(sources: list[str | None], generations: list[str], references: list[list[str]])
    -> sequence of floats in [0, 1]``

(the shape of TRL-style reward functions, with references added) as a
:class:`~textgym.rewards.base.Scorer`. :meth:`LearnedReward.from_classifier` builds that
function from any Hugging Face sequence-classification model.

The envs pass each sample's source to ``score``/``start`` (the ``Scorer`` protocol's
``source`` argument), so a reward model can read the input as well as the output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from textgym._optional import require
from textgym.rewards.base import RescoringTracker, ScoreTracker, check_score

RewardFn = Callable[[list[Any], list[str], list[list[str]]], Iterable[float]]
Inputs = Literal["generation", "source+generation", "generation+reference"]


class LearnedReward:
    """A reward computed by a model or a user function over batches of texts.

    Args:
        fn: ``fn(sources, generations, references) -> scores``, each score a real number in
            [0, 1] (checked: anything else raises ``TypeError`` or ``ValueError`` rather than
            reaching the agent).
        name: The reward's name in ``info`` and ``describe()``.
        batch_size: Largest batch :meth:`score_batch` passes to ``fn`` at once.
    """

    def __init__(self, fn: RewardFn, *, name: str | None = None, batch_size: int = 32) -> None:
        if not callable(fn):
            raise TypeError(f"reward: {fn!r} is not callable")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
        self._fn = fn
        self.name = str(name or getattr(fn, "name", None) or getattr(fn, "__qualname__", repr(fn)))
        self.batch_size = batch_size

    @classmethod
    def from_classifier(
        cls,
        model: Any,
        tokenizer: Any = None,
        *,
        inputs: Inputs = "generation",
        label: int | str | None = None,
        device: str | None = None,
        batch_size: int = 16,
        max_length: int = 512,
        name: str | None = None,
    ) -> LearnedReward:
        """A reward from a Hugging Face sequence-classification model.

        Args:
            model: A ``transformers`` sequence-classification model, or its local directory
                (or Hub name).
            tokenizer: Its tokenizer; default: loaded from the same place as the model.
            inputs: What the classifier reads: the generation alone, the pair (source,
                generation), or the pair (generation, reference), taking the best reference.
            label: With several labels, the one whose probability is the reward (index or name
                from ``config.label2id``); default: the last label (``POSITIVE`` in binary
                sentiment models, ``entailment`` in MNLI ones: check your model). A single-logit
                model's reward is ``sigmoid(logit)``.
            device: ``"cpu"``, ``"cuda"``...; default: CUDA when available.
            batch_size: Texts per forward pass.
            max_length: Truncation length of the classifier's input.
            name: The reward's name; default ``"classifier:<model>"``.
        """
        classifier = SequenceClassifierReward(
            model, tokenizer, inputs=inputs, label=label, device=device, max_length=max_length
        )
        return cls(
            classifier, name=name or f"classifier:{classifier.model_name}", batch_size=batch_size
        )

    def score_batch(
        self,
        texts: Sequence[str],
        references_list: Sequence[Sequence[str]],
        sources: Sequence[str | None] | None = None,
    ) -> list[float]:
        """Scores of many generations in batches of ``batch_size``, each checked to be in [0, 1].

        Args:
            texts: The generations.
            references_list: The references of each.
            sources: The source of each; default: ``None`` for every one.
        """
        if len(texts) != len(references_list):
            raise ValueError(
                f"score_batch: {len(texts)} texts but {len(references_list)} reference lists"
            )
        if sources is None:
            sources = [None] * len(texts)
        elif len(sources) != len(texts):
            raise ValueError(f"score_batch: {len(texts)} texts but {len(sources)} sources")
        scores: list[float] = []
        for start in range(0, len(texts), self.batch_size):
            stop = start + self.batch_size
            batch = list(
                self._fn(
                    list(sources[start:stop]),
                    list(texts[start:stop]),
                    [list(refs) for refs in references_list[start:stop]],
                )
            )
            if len(batch) != len(texts[start:stop]):
                raise ValueError(
                    f"reward {self.name!r} returned {len(batch)} scores for "
                    f"{len(texts[start:stop])} generations"
                )
            scores.extend(check_score(value, self.name) for value in batch)
        return scores

    def score(self, text: str, references: Sequence[str], source: str | None = None) -> float:
        """The reward of one generation of ``source``."""
        return self.score_batch([text], [references], [source])[0]

    def start(self, references: Sequence[str], source: str | None = None) -> ScoreTracker:
        """Dense rewards rescore the whole prefix after each token."""
        return RescoringTracker(self, references, source)

    def __repr__(self) -> str:
        return f"LearnedReward({self.name!r})"


class SequenceClassifierReward:
    """``(sources, generations, references) -> scores`` from a sequence-classification model.

    See :meth:`LearnedReward.from_classifier` for the arguments.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any = None,
        *,
        inputs: Inputs = "generation",
        label: int | str | None = None,
        device: str | None = None,
        max_length: int = 512,
    ) -> None:
        torch = require("torch", "LearnedReward.from_classifier")
        transformers = require("transformers", "LearnedReward.from_classifier")
        if inputs not in ("generation", "source+generation", "generation+reference"):
            raise ValueError(
                "inputs: expected 'generation', 'source+generation' or 'generation+reference', "
                f"got {inputs!r}"
            )
        if isinstance(model, (str, Path)):
            local = Path(model).is_dir()
            self.model_name = str(model)
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                str(model), local_files_only=local
            )
            if tokenizer is None:
                tokenizer = transformers.AutoTokenizer.from_pretrained(
                    self.model_name, local_files_only=local
                )
        else:
            self.model_name = str(getattr(model, "name_or_path", "") or type(model).__name__)
        if tokenizer is None:
            raise ValueError(
                "tokenizer: give the classifier's tokenizer when passing a model object"
            )
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.device = device
        self.inputs = inputs
        self.max_length = max_length
        self.label_index = _label_index(model.config, label)
        self._torch = torch

    def _probabilities(self, first: list[str], second: list[str] | None) -> np.ndarray:
        torch = self._torch
        batch = self.tokenizer(
            first,
            second,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.device)
        with torch.inference_mode():
            logits = self.model(**batch).logits.float()
        if logits.shape[-1] == 1:
            probs = torch.sigmoid(logits[:, 0])
        else:
            probs = torch.softmax(logits, dim=-1)[:, self.label_index]
        return probs.cpu().numpy().astype(np.float64)

    def __call__(
        self,
        sources: list[str | None],
        generations: list[str],
        references: list[list[str]],
    ) -> list[float]:
        if self.inputs == "generation":
            return self._probabilities(generations, None).tolist()
        if self.inputs == "source+generation":
            if any(s is None for s in sources):
                raise ValueError(
                    "inputs='source+generation' needs the sources; the env passes them, a direct "
                    "call needs score_batch(..., sources=[...])"
                )
            return self._probabilities(list(sources), generations).tolist()  # type: ignore[arg-type]
        # Best reference: one flat batch of (generation, reference) pairs, then a max per text.
        owners = [i for i, refs in enumerate(references) for _ in refs]
        pairs = [r for refs in references for r in refs]
        probs = self._probabilities([generations[i] for i in owners], pairs)
        best = np.zeros(len(generations))
        np.maximum.at(best, owners, probs)
        return best.tolist()


def _label_index(config: Any, label: int | str | None) -> int:
    num_labels = int(getattr(config, "num_labels", 1))
    if num_labels == 1:
        return 0
    if label is None:
        return num_labels - 1
    if isinstance(label, str):
        label2id = {str(k): int(v) for k, v in (getattr(config, "label2id", None) or {}).items()}
        if label not in label2id:
            raise ValueError(
                f"label: {label!r} is not a label of the model; its labels: "
                f"{sorted(label2id, key=label2id.__getitem__)}"
            )
        return label2id[label]
    if not 0 <= label < num_labels:
        raise ValueError(f"label: {label} is outside [0, {num_labels})")
    return int(label)
