"""Any Hugging Face tokenizer as a textgym :class:`~textgym.tokenizers.base.Tokenizer`.

The adapter never changes the tokenizer it is given: when a token has to be added (an
``eos_token``/``pad_token`` that is not in the vocabulary) it adds it to a copy. Its
``vocab_size`` is ``len(tokenizer)``, which counts added tokens (``tokenizer.vocab_size`` does
not), so every id of the action space is a token.

End of sequence and padding, in order of preference:

* EOS: the ``eos_token`` argument; the tokenizer's ``eos_token``; its ``sep_token`` (BERT-style
  tokenizers end a sequence with ``[SEP]`` and have no EOS); otherwise an error that says to pass
  ``eos_token=``.
* PAD: the ``pad_token`` argument; the tokenizer's ``pad_token``; otherwise the EOS token (the
  GPT-2 convention; the observation masks tell padding from text).

``encode`` adds no special tokens; ``decode`` drops every special token (PAD, EOS, BOS, CLS,
SEP, UNK, MASK...), so emitting one adds no text.
"""

from __future__ import annotations

import copy
import itertools
import operator
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from textgym._optional import HubUnavailableError, hub_offline, hub_reachable, require


def _transformers(feature: str) -> Any:
    return require("transformers", feature)


class HFTokenizer:
    """A Hugging Face tokenizer behind textgym's small tokenizer protocol.

    Args:
        tokenizer: A ``transformers`` tokenizer (``PreTrainedTokenizerBase``) or a
            ``tokenizers.Tokenizer``. It is not modified.
        eos_token: The token that ends a generation; default: see the module docstring. A token
            that is not in the vocabulary is added, as a special token, to a copy.
        pad_token: The token that pads observations; default: see the module docstring.
        name: A label for ``repr`` and messages (default: the tokenizer's ``name_or_path``).

    Raises:
        ValueError: If no EOS token can be found and none is given.
    """

    def __init__(
        self,
        tokenizer: Any,
        *,
        eos_token: str | None = None,
        pad_token: str | None = None,
        name: str | None = None,
    ) -> None:
        if _is_raw_tokenizers_object(tokenizer):
            # transformers deep-copies a tokenizer_object, so the caller's stays untouched.
            fast = _transformers("a tokenizers.Tokenizer").PreTrainedTokenizerFast
            tokenizer = fast(tokenizer_object=tokenizer)
        elif not hasattr(tokenizer, "convert_tokens_to_ids"):
            raise TypeError(
                f"tokenizer: expected a Hugging Face tokenizer, got {type(tokenizer).__name__}"
            )
        self.name = name or str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__)
        to_add = {
            key: token
            for key, token in (("eos_token", eos_token), ("pad_token", pad_token))
            if token is not None and _token_id(tokenizer, token) is None
        }
        if to_add:
            tokenizer = copy.deepcopy(tokenizer)
            tokenizer.add_special_tokens(to_add)
        self._tok = tokenizer

        if eos_token is not None:
            eos = _token_id(tokenizer, eos_token)
        elif tokenizer.eos_token_id is not None:
            eos = tokenizer.eos_token_id
        elif tokenizer.sep_token_id is not None:
            eos = tokenizer.sep_token_id  # BERT-style: [SEP] closes a sequence
        else:
            raise ValueError(
                f"tokenizer {self.name!r} has no EOS token (its eos_token and sep_token are "
                "unset); pass the token that should end a generation, e.g. "
                "tokenizer={'path': ..., 'eos_token': '</s>'} (a token not in the vocabulary "
                "is added to a copy of the tokenizer)"
            )
        if pad_token is not None:
            pad = _token_id(tokenizer, pad_token)
        elif tokenizer.pad_token_id is not None:
            pad = tokenizer.pad_token_id
        else:
            pad = eos
        self._eos_id = int(eos)  # type: ignore[arg-type]
        self._pad_id = int(pad)  # type: ignore[arg-type]
        self._size = len(tokenizer)
        # Skipping them by id as well covers an eos/pad given as an ordinary vocabulary token.
        self._silent = {self._eos_id, self._pad_id}
        # Whether decode is exactly the backend's decode (see decode_batch).
        transformers = sys.modules.get("transformers")  # not loaded: not one of its classes
        fast = getattr(transformers, "PreTrainedTokenizerFast", None)
        self._backend_decodes = (
            fast is not None
            and isinstance(tokenizer, fast)
            and type(tokenizer).decode is fast.decode
            and type(tokenizer)._decode is fast._decode
            and not tokenizer.clean_up_tokenization_spaces
        )

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        *,
        eos_token: str | None = None,
        pad_token: str | None = None,
        **kwargs: Any,
    ) -> HFTokenizer:
        """Load a tokenizer by local path or Hub name and wrap it.

        Args:
            name_or_path: A directory written by ``save_pretrained``, a ``tokenizer.json``
                file written by the ``tokenizers`` library, or a Hub model id (``"t5-small"``),
                which is read from the local cache when it is there.
            eos_token: See :class:`HFTokenizer`.
            pad_token: See :class:`HFTokenizer`.
            **kwargs: Passed to ``AutoTokenizer.from_pretrained``.

        Raises:
            FileNotFoundError: For a local-looking path that does not exist.
            HubUnavailableError: For a Hub name that is neither cached nor downloadable now.
        """
        transformers = _transformers(f"tokenizer={str(name_or_path)!r}")
        path = Path(name_or_path).expanduser()
        text = str(name_or_path)
        if path.is_file():
            tok = transformers.PreTrainedTokenizerFast(tokenizer_file=str(path))
            return cls(tok, eos_token=eos_token, pad_token=pad_token, name=text)
        if path.is_dir():
            tok = transformers.AutoTokenizer.from_pretrained(
                str(path), local_files_only=True, **kwargs
            )
            return cls(tok, eos_token=eos_token, pad_token=pad_token, name=text)
        if (
            text.startswith((".", "/", "~"))
            or path.suffix == ".json"
            or text.count("/") > 1
            or not text
        ):
            raise FileNotFoundError(f"tokenizer: no such file or directory {text!r}")
        try:  # the local cache first: no network when the tokenizer was downloaded before
            tok = transformers.AutoTokenizer.from_pretrained(text, local_files_only=True, **kwargs)
        except (OSError, ValueError):
            tok = _download(transformers, text, kwargs)
        return cls(tok, eos_token=eos_token, pad_token=pad_token, name=text)

    # ------------------------------------------------------------------ protocol
    @property
    def vocab_size(self) -> int:
        """``len(tokenizer)``: the base vocabulary plus added tokens."""
        return self._size

    @property
    def eos_id(self) -> int:
        return self._eos_id

    @property
    def pad_id(self) -> int:
        return self._pad_id

    @property
    def hf_tokenizer(self) -> Any:
        """The wrapped ``transformers`` tokenizer (a copy when tokens had to be added)."""
        return self._tok

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, without special tokens (no BOS/CLS/SEP/EOS)."""
        return list(self._tok.encode(text, add_special_tokens=False, verbose=False))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """:meth:`encode` of each of ``texts`` in one call of the tokenizer (a fast tokenizer
        encodes the batch in Rust), equal to encoding them one by one."""
        if not texts:
            return []
        encoded = self._tok(list(texts), add_special_tokens=False, verbose=False)
        return [list(ids) for ids in encoded["input_ids"]]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``; special tokens produce no text.

        Raises:
            ValueError: For an id outside ``[0, vocab_size)``.
        """
        kept = self._kept(ids)
        return self._tok.decode(kept, skip_special_tokens=True) if kept else ""

    def decode_batch(self, rows: Sequence[Sequence[int]]) -> list[str]:
        """:meth:`decode` of each of ``rows``, equal to decoding them one by one.

        A fast tokenizer whose decoding is the library's own (no subclass override, no
        clean-up of tokenization spaces) decodes the batch in one call of its Rust backend,
        without the per-call conversions of ``decode`` (a vector env decodes every ended
        episode's text: that was a quarter of a step on loaded data).

        Raises:
            ValueError: For an id outside ``[0, vocab_size)``.
        """
        kept = [self._kept(ids) for ids in rows]
        if not self._backend_decodes:
            return [self._tok.decode(k, skip_special_tokens=True) if k else "" for k in kept]
        texts = self._tok.backend_tokenizer.decode_batch(kept, skip_special_tokens=True)
        return [text if k else "" for text, k in zip(texts, kept, strict=True)]

    def _kept(self, ids: Sequence[int]) -> list[int]:
        """``ids`` as ints without EOS and PAD, each checked to be in the vocabulary."""
        # C-level passes (map, min/max, filterfalse) instead of a Python loop per id: a vector
        # env decodes every row of a batch at every step with dense rewards.
        ints = list(map(operator.index, ids))
        size = self._size
        if ints and (min(ints) < 0 or max(ints) >= size):
            bad = next(i for i in ints if not 0 <= i < size)
            raise ValueError(f"ids: {bad} is outside the vocabulary [0, {size})")
        return list(itertools.filterfalse(self._silent.__contains__, ints))

    def __repr__(self) -> str:
        return (
            f"HFTokenizer({self.name!r}, vocab_size={self._size}, eos_id={self._eos_id}, "
            f"pad_id={self._pad_id})"
        )


def _is_raw_tokenizers_object(obj: Any) -> bool:
    return type(obj).__module__.startswith("tokenizers") and hasattr(obj, "get_vocab_size")


def _token_id(tokenizer: Any, token: str) -> int | None:
    """The id of ``token`` if it is in the vocabulary (not mapped to UNK), else ``None``."""
    vocab = tokenizer.get_vocab()
    return vocab.get(token)


def _download(transformers: Any, name: str, kwargs: Mapping[str, Any]) -> Any:
    # One quick probe instead of the Hub client's minute of retries on an unreachable host.
    if hub_offline() or not hub_reachable():
        raise HubUnavailableError(_hub_message(name, "the Hub is offline or unreachable"))
    try:
        return transformers.AutoTokenizer.from_pretrained(name, **kwargs)
    except Exception as exc:  # any failure here means "not available": say how to go local
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise HubUnavailableError(
            _hub_message(name, f"{type(exc).__name__}: {first_line}")
        ) from exc


def _hub_message(name: str, reason: str) -> str:
    offline = " (HF_HUB_OFFLINE is set)" if hub_offline() else ""
    return (
        f"tokenizer: cannot load {name!r} from the Hugging Face Hub{offline}: {reason}. It is "
        "not in the local cache and cannot be downloaded now. Where the Hub is reachable, run "
        f"AutoTokenizer.from_pretrained({name!r}).save_pretrained('my_tokenizer') and pass the "
        "directory: tokenizer='my_tokenizer'"
    )


def as_tokenizer(spec: Any) -> Any:
    """Resolve what a user passes as ``tokenizer=`` (other than ``None``).

    Args:
        spec: A textgym :class:`~textgym.tokenizers.base.Tokenizer` (returned as is); a
            ``transformers`` or ``tokenizers`` tokenizer object (wrapped); a path or Hub name
            (``str``); or a dict ``{"path": ..., "eos_token": ..., "pad_token": ...}``.
            Strings and dicts keep ``env.spec`` JSON-serialisable.

    Raises:
        TypeError: For anything else.
    """
    from textgym.tokenizers.base import Tokenizer

    if isinstance(spec, (str, Path)):
        return HFTokenizer.from_pretrained(spec)
    if isinstance(spec, Mapping):
        unknown = sorted(set(spec) - {"path", "eos_token", "pad_token"})
        if unknown or "path" not in spec:
            raise ValueError(
                f"tokenizer: a dict needs 'path' and may have 'eos_token' and 'pad_token'; "
                f"got keys {sorted(spec)}"
            )
        return HFTokenizer.from_pretrained(
            spec["path"], eos_token=spec.get("eos_token"), pad_token=spec.get("pad_token")
        )
    if isinstance(spec, Tokenizer) and not hasattr(spec, "convert_tokens_to_ids"):
        return spec
    if hasattr(spec, "convert_tokens_to_ids") or _is_raw_tokenizers_object(spec):
        return HFTokenizer(spec)
    raise TypeError(
        "tokenizer: expected None, a textgym Tokenizer, a Hugging Face tokenizer, a path or "
        f"Hub name, or a dict {{'path': ..., 'eos_token': ...}}; got {type(spec).__name__}"
    )


def check_tokenizer_matches(
    tokenizer: Any, model: Any, *, allow_larger_model: bool = False
) -> None:
    """Check that a policy's vocabulary fits the env's tokenizer before training.

    Args:
        tokenizer: The env's tokenizer (anything with ``vocab_size``, e.g.
            ``env.unwrapped.tokenizer``), or a Hugging Face tokenizer (``len()`` is used).
        model: The policy's vocabulary: an ``int``, a ``transformers`` model (its input
            embedding rows, else ``config.vocab_size``), or anything with ``vocab_size``.
        allow_larger_model: Accept a model with more rows than the tokenizer has tokens (T5
            pads its embedding to a multiple of 128); the policy must then mask the extra
            logits, which are not valid actions.

    Raises:
        ValueError: Naming both sizes and what to do.
    """
    if hasattr(tokenizer, "convert_tokens_to_ids"):
        size = len(tokenizer)
    else:
        size = int(tokenizer.vocab_size)
    if isinstance(model, int) and not isinstance(model, bool):
        model_size, what = model, "the policy's vocabulary"
    elif hasattr(model, "get_input_embeddings") and model.get_input_embeddings() is not None:
        model_size, what = int(model.get_input_embeddings().num_embeddings), "the model's embedding"
    elif hasattr(getattr(model, "config", None), "vocab_size"):
        model_size, what = int(model.config.vocab_size), "the model's config.vocab_size"
    elif hasattr(model, "vocab_size"):
        model_size, what = int(model.vocab_size), "the policy's vocab_size"
    else:
        raise TypeError(
            f"model: expected an int, a transformers model or an object with vocab_size, "
            f"got {type(model).__name__}"
        )
    if model_size < size:
        raise ValueError(
            f"tokenizer/policy mismatch: the tokenizer has {size} tokens but {what} has "
            f"{model_size} rows, so token ids >= {model_size} cannot be embedded or chosen. Use "
            f"the model's own tokenizer, or resize it: model.resize_token_embeddings({size})"
        )
    if model_size > size and not allow_larger_model:
        raise ValueError(
            f"tokenizer/policy mismatch: {what} has {model_size} rows but the tokenizer has "
            f"{size} tokens (the action space is Discrete({size})); is this the model's "
            "tokenizer? If the extra rows are padding (as in T5), pass allow_larger_model=True "
            "and mask those logits"
        )
