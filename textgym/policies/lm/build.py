"""The policy's model, from whatever a user brings: the architecture families, BERT2BERT, LoRA.

What :func:`build_model` makes of each kind of checkpoint (a Hub name, a local folder, a config
or a model object):

* A decoder-only causal LM (GPT-2, Llama...): ``AutoModelForCausalLM``.
* A sequence-to-sequence model (T5, BART, Marian...): ``AutoModelForSeq2SeqLM``.
* An ``EncoderDecoderModel`` (BERT2BERT and other warm-started pairs; config
  ``EncoderDecoderConfig``): loaded with ``EncoderDecoderModel`` itself, whatever the Auto
  mappings of the installed transformers say. Build one from an encoder with :func:`bert2bert`.
* An encoder-style checkpoint (BERT, RoBERTa, ELECTRA...: a model type that has a masked-LM head
  and a causal-LM head in transformers) where a causal LM is expected: loaded with its causal-LM
  class (``BertLMHeadModel``) and ``is_decoder=True``. This is deliberate: without the flag that
  class keeps bidirectional self-attention, so a token would see the tokens after it and
  token-by-token decoding would not match the teacher-forced training pass.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

try:
    import torch
    import transformers
    from transformers.models.auto import modeling_auto
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'textgym.policies.lm needs torch and transformers: pip install "textgym[lm]"'
    ) from error

#: ``model.init`` values of a run configuration (see :func:`checkpoint_for_init`).
INITS = (None, "bert2bert", "bert2bert-random", "random")

# Attention projections LoRA adapts, per model type (the suffixes peft matches; BERT's
# "query"/"key"/"value" also match its cross-attention when it is a BERT2BERT decoder).
_LORA_TARGETS: dict[str, tuple[str, ...]] = {
    "gpt2": ("c_attn", "c_proj", "c_fc"),
    **dict.fromkeys(
        ("bert", "roberta", "xlm-roberta", "camembert", "electra"), ("query", "key", "value")
    ),
    **dict.fromkeys(("t5", "mt5"), ("q", "k", "v", "o")),
    **dict.fromkeys(("bart", "mbart", "marian"), ("q_proj", "k_proj", "v_proj", "out_proj")),
}
# GPT-2 stores these weights as Conv1D (in x out): peft must know to transpose them.
_CONV1D_TYPES = frozenset({"gpt2"})
_ENCODER_DECODER = "encoder-decoder"
# from_pretrained arguments that also concern the config (the rest are the model's only).
_CONFIG_KWARGS = ("revision", "trust_remote_code", "token", "cache_dir", "local_files_only")


def build_model(
    spec: str | os.PathLike[str] | transformers.PretrainedConfig | transformers.PreTrainedModel,
    *,
    vocab_size: int,
    **from_pretrained: Any,
) -> transformers.PreTrainedModel:
    """A causal LM or encoder-decoder from a Hub name, local path, config or model object.

    See the module docstring for what each architecture family becomes.

    Args:
        spec: What to build. A config builds fresh weights (offline); a name or path loads them;
            a model (or a ``peft`` model) is checked and returned.
        vocab_size: The env tokenizer's vocabulary size; the model must produce exactly that
            many logits, since an action is a token id of the env.
        **from_pretrained: Passed to ``from_pretrained`` for names and paths.

    Raises:
        ValueError: The model's output vocabulary differs from ``vocab_size``; the model has no
            LM head; its model type has no causal-LM class to decode with; or a model object
            (or the decoder of one) is an encoder built without ``is_decoder=True``.
        TypeError: For anything else than the four kinds above.
    """
    # A PreTrainedModel or a peft wrapper of one: peft is optional, so there is no type to name.
    model: Any
    if isinstance(spec, transformers.PreTrainedModel) or is_peft(spec):
        model = spec
        base = model.get_base_model() if is_peft(model) else model
        _check_causal_object(base)
    elif isinstance(spec, transformers.PretrainedConfig):
        config = _as_decoder_config(spec)
        cls = _model_class(config)
        # EncoderDecoderModel has no from_config: its constructor takes the config.
        model = (
            cls(config=config)
            if cls is transformers.EncoderDecoderModel
            else cls.from_config(config)
        )
    elif isinstance(spec, (str, os.PathLike)):
        config_kwargs = {k: from_pretrained[k] for k in _CONFIG_KWARGS if k in from_pretrained}
        config = _as_decoder_config(transformers.AutoConfig.from_pretrained(spec, **config_kwargs))
        model = _model_class(config).from_pretrained(spec, config=config, **from_pretrained)
    else:
        raise TypeError(
            f"model: expected a Hub name, a local path, a transformers config or model, "
            f"got {type(spec).__name__}"
        )
    base = model.get_base_model() if is_peft(model) else model
    if getattr(base.config, "tie_encoder_decoder", False) and _is_encoder_decoder_model(base):
        share_encoder_weights(base)  # transformers 5 ignores the flag: tie here (idempotent)
    _check_lm_head(base)
    n_logits = model.get_output_embeddings().weight.shape[0]
    if n_logits != vocab_size:
        raise ValueError(
            f"model: it predicts {n_logits} token ids but the env's tokenizer has vocab_size="
            f"{vocab_size}; an action is a token id of the env, so they must match. Build the "
            f"model for this tokenizer (e.g. tiny_causal_lm_config(env.unwrapped.tokenizer."
            f"vocab_size)) or make the env with the model's tokenizer (tokenizer=...)."
        )
    return model


def is_peft(model: Any) -> bool:
    """Whether ``model`` is a ``peft`` wrapper (without importing peft)."""
    return type(model).__module__.startswith("peft.")


def hidden_size(config: Any) -> int:
    """Width of the decoder's last hidden states (where the value head reads)."""
    decoder = getattr(config, "decoder", None)
    if isinstance(decoder, transformers.PretrainedConfig):  # EncoderDecoderConfig
        config = decoder
    for name in ("hidden_size", "n_embd", "d_model"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    raise ValueError(f"model: cannot find the hidden size in {type(config).__name__}")


# ---------------------------------------------------------------------- architecture roles
def _causal_types() -> set[str]:
    return set(modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)


def _masked_types() -> set[str]:
    return set(modeling_auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES)


def _is_encoder_style(config: Any) -> bool:
    """An encoder (BERT-like) whose causal-LM class is causal only with ``is_decoder=True``."""
    return (
        not getattr(config, "is_encoder_decoder", False)
        and hasattr(config, "is_decoder")
        and config.model_type in _masked_types() & _causal_types()
    )


def _is_decoder_only(config: Any) -> bool:
    return (
        not getattr(config, "is_encoder_decoder", False)
        and config.model_type in _causal_types()
        and config.model_type not in _masked_types()
    )


def _has_causal_head(config: Any) -> bool:
    auto_map = getattr(config, "auto_map", None) or {}
    return config.model_type in _causal_types() or "AutoModelForCausalLM" in auto_map


def _is_encoder_decoder_model(model: Any) -> bool:
    return getattr(model.config, "model_type", None) == _ENCODER_DECODER


def _as_decoder_config(config: Any) -> Any:
    """``config`` (a copy when changed) with every part that decodes set to decode causally."""
    if config.model_type == _ENCODER_DECODER:
        decoder = config.decoder
        if getattr(decoder, "is_decoder", True) and getattr(decoder, "add_cross_attention", True):
            return config
        config = copy.deepcopy(config)
        config.decoder.is_decoder = True
        config.decoder.add_cross_attention = True
        return config
    if config.is_encoder_decoder:
        return config
    if not _has_causal_head(config):
        raise ValueError(
            f"model: a {config.model_type!r} checkpoint has no causal-LM head in transformers "
            "(no AutoModelForCausalLM class), so it cannot decode the policy's tokens; use it as "
            "the encoder of an encoder-decoder: bert2bert(encoder, decoder=<a checkpoint with a "
            "causal-LM head, such as a BERT one>)"
        )
    if _is_encoder_style(config) and not config.is_decoder:
        config = copy.deepcopy(config)
        config.is_decoder = True  # causal self-attention: see the module docstring
    return config


def _model_class(config: Any) -> Any:
    if config.model_type == _ENCODER_DECODER:
        return transformers.EncoderDecoderModel
    if config.is_encoder_decoder:
        return transformers.AutoModelForSeq2SeqLM
    return transformers.AutoModelForCausalLM


def _check_lm_head(model: Any) -> None:
    if model.get_output_embeddings() is None:
        raise ValueError(
            f"model: {type(model).__name__} has no LM head (get_output_embeddings() is None), so "
            "it cannot give the logits of the next token; pass its checkpoint path or config, "
            "which is loaded with its causal-LM or seq2seq class"
        )


def _check_causal_object(model: Any) -> None:
    _check_lm_head(model)
    where, part = (
        ("model.decoder", model.decoder) if _is_encoder_decoder_model(model) else ("model", model)
    )
    # EncoderDecoderModel(encoder=..., decoder=...) sets its decoder's config.is_decoder after
    # the layers were built bidirectional: the layers' own flag tells.
    built = all(getattr(module, "is_decoder", True) for module in part.modules())
    if _is_encoder_style(part.config) and not (part.config.is_decoder and built):
        raise ValueError(
            f"{where}: this {type(part).__name__} was built with is_decoder=False, so its "
            "self-attention sees later tokens and it cannot decode token by token (setting "
            "the flag afterwards does not change built layers); build it from a config with "
            "is_decoder=True, or pass its config or checkpoint path, which build_model turns "
            "into a decoder"
        )


# ---------------------------------------------------------------------- tying and saving
def share_encoder_weights(model: transformers.EncoderDecoderModel) -> int:
    """Share an encoder-decoder's decoder weights with its encoder (cross-attention excepted).

    transformers 4 does this itself for ``config.tie_encoder_decoder``; transformers 5 ignores
    the flag, so textgym ties wherever it builds or loads such a model. Parameters are shared
    where the encoder and the decoder's base model have the same name and shape.

    Returns:
        How many decoder parameters now are the encoder's.

    Raises:
        ValueError: The encoder and decoder are of different architectures.
    """
    encoder, decoder = model.encoder, model.decoder
    if encoder.config.model_type != decoder.config.model_type:
        raise ValueError(
            f"tie_encoder_decoder: needs an encoder and a decoder of one architecture, got "
            f"{encoder.config.model_type} and {decoder.config.model_type}"
        )
    shared = dict(encoder.named_parameters())
    output, embeddings = decoder.get_output_embeddings(), decoder.get_input_embeddings()
    head_tied = output is not None and output.weight is embeddings.weight
    tied = 0
    for prefix, module in decoder.base_model.named_modules():
        for name, param in list(module.named_parameters(recurse=False)):
            source = shared.get(f"{prefix}.{name}" if prefix else name)
            if source is not None and source.shape == param.shape:
                tied += source is not param
                setattr(module, name, source)
    if head_tied:  # the LM head read the decoder's own embedding: keep it on the shared one
        output.weight = decoder.get_input_embeddings().weight
    return tied


def save_model(
    model: transformers.PreTrainedModel, folder: str | os.PathLike[str], tokenizer: Any = None
) -> Path:
    """``model.save_pretrained(folder)`` (and the tokenizer's) that also saves tied encoders.

    transformers 5 refuses to save weights shared in a way its model classes do not declare
    (:func:`share_encoder_weights`'s), so those are saved as copies; loading the folder with
    :func:`build_model` ties them again.

    Args:
        model: The model (a policy's is ``policy.model``).
        folder: Where to write; created if missing.
        tokenizer: A Hugging Face tokenizer (or a textgym ``HFTokenizer``) to save alongside,
            so that the folder is also the env's ``tokenizer=``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = None
    if getattr(model.config, "tie_encoder_decoder", False):
        state = {key: value.detach().clone() for key, value in model.state_dict().items()}
    model.save_pretrained(str(folder), state_dict=state)
    if tokenizer is not None:
        getattr(tokenizer, "hf_tokenizer", tokenizer).save_pretrained(str(folder))
    return folder


# ---------------------------------------------------------------------- BERT2BERT
def bert2bert(
    encoder: str | os.PathLike[str],
    tokenizer: Any = None,
    *,
    decoder: str | os.PathLike[str] | None = None,
    save_to: str | os.PathLike[str] | None = None,
    tie_encoder_decoder: bool = False,
    pretrained: bool = True,
    dropout: float | None = 0.0,
) -> transformers.EncoderDecoderModel:
    """A BERT2BERT (an encoder-decoder warm-started from encoder checkpoints), ready for textgym.

    One line from an encoder to a policy's model::

        model = bert2bert("path/to/bert", save_to="b2b")   # then tokenizer="b2b" for the env
        policy = LMActorCritic.from_env(env, "b2b")

    The decoder is the same checkpoint (or ``decoder``) loaded with its causal-LM head,
    ``is_decoder=True`` and new, randomly initialised cross-attention layers. The special
    token ids are set on the config and on ``generation_config``: ``decoder_start_token_id``
    is CLS (BOS without one); ``eos_token_id`` is what the env ends an episode at, the rule of
    :class:`~textgym.tokenizers.HFTokenizer` (its EOS, else SEP: SEP for BERT);
    ``pad_token_id`` is PAD (EOS without one); ``vocab_size`` is the tokenizer's length.

    Args:
        encoder: The encoder checkpoint: a local folder or a Hub name.
        tokenizer: The tokenizer whose ids are set: a folder or Hub name, a Hugging Face
            tokenizer or the env's ``HFTokenizer`` (``env.unwrapped.tokenizer``); default: the
            encoder's.
        decoder: The decoder checkpoint (default: ``encoder``); it needs a causal-LM head.
        save_to: A folder to write the model and the tokenizer to, usable as the env's
            ``tokenizer=`` and as the policy's model.
        tie_encoder_decoder: Share the decoder's weights with the encoder (cross-attention and
            LM head excepted): about half the parameters (Rothe et al., 2020, "shared").
        pretrained: ``False``: the same architecture with random weights (seed torch first).
        dropout: Every dropout probability of encoder and decoder (configs and modules, so a
            saved folder keeps it); ``None`` keeps the checkpoint's (0.1 for BERT). Off by
            default: PPO's ratio and the KL term compare log-probabilities of a rollout with
            those of an update, which dropout would make differ for identical weights.

    Raises:
        ValueError: ``encoder`` is an encoder-decoder or a decoder-only checkpoint; ``decoder``
            has no causal-LM head; the tokenizer has no CLS/BOS or no SEP/EOS token, or a
            vocabulary the decoder does not predict.
    """
    if dropout is not None and not (isinstance(dropout, float | int) and 0.0 <= dropout < 1.0):
        raise ValueError(f"dropout: expected a probability in [0, 1) or None, got {dropout!r}")
    encoder, decoder = str(encoder), str(decoder if decoder is not None else encoder)
    encoder_config = transformers.AutoConfig.from_pretrained(encoder)
    decoder_config = transformers.AutoConfig.from_pretrained(decoder)
    _check_encoder_role(encoder, encoder_config)
    _check_decoder_role(decoder, decoder_config)
    raw, start, eos, pad = _special_ids(tokenizer if tokenizer is not None else encoder)
    try:
        if pretrained:
            with _quiet_loading():
                # transformers annotates the classmethod's return as PreTrainedModel; it
                # returns an instance of the class it is called on.
                model = cast(
                    transformers.EncoderDecoderModel,
                    transformers.EncoderDecoderModel.from_encoder_decoder_pretrained(
                        encoder, decoder, tie_encoder_decoder=tie_encoder_decoder
                    ),
                )
        else:
            config = transformers.EncoderDecoderConfig.from_encoder_decoder_configs(
                encoder_config, decoder_config, tie_encoder_decoder=tie_encoder_decoder
            )
            model = transformers.EncoderDecoderModel(config=config)
    except ValueError as error:  # e.g. a decoder without cross-attention support
        raise ValueError(f"decoder: {decoder!r} cannot decode from an encoder: {error}") from None
    if dropout is not None:
        _set_dropout(model, dropout)
    if tie_encoder_decoder:
        share_encoder_weights(model)
    n_logits = model.get_output_embeddings().weight.shape[0]
    if n_logits != len(raw):
        raise ValueError(
            f"tokenizer: it has {len(raw)} tokens but the decoder {decoder!r} predicts "
            f"{n_logits}; use the encoder's own tokenizer"
        )
    ids = {"decoder_start_token_id": start, "eos_token_id": eos, "pad_token_id": pad}
    for target in (model.config, model.generation_config):
        for key, value in ids.items():
            setattr(target, key, value)
    model.config.vocab_size = len(raw)
    if save_to is not None:
        save_model(model, save_to, raw)
    return model


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    # The decoder's cross-attention and LM-head transform are new by design: transformers'
    # load report lists them as MISSING (about 40 lines) and draws progress bars; both say
    # nothing a BERT2BERT user needs. Errors still show. The settings are restored after.
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


#: Dropout probabilities of the configs of BERT-, BART- and T5-style models.
_DROPOUT_KEYS = (
    "hidden_dropout_prob", "attention_probs_dropout_prob", "dropout", "attention_dropout",
    "activation_dropout", "dropout_rate", "classifier_dropout",
)  # fmt: skip


def _set_dropout(model: Any, p: float) -> None:
    for config in (model.config.encoder, model.config.decoder):
        for key in _DROPOUT_KEYS:
            if isinstance(getattr(config, key, None), float):
                setattr(config, key, float(p))
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = float(p)


def _check_encoder_role(name: str, config: Any) -> None:
    if config.is_encoder_decoder:
        raise ValueError(
            f"encoder: {name!r} is already an encoder-decoder ({config.model_type}); load it as "
            "the policy's model directly (model.init=null) instead of building a BERT2BERT"
        )
    if _is_decoder_only(config):
        raise ValueError(
            f"encoder: {name!r} is a decoder-only {config.model_type} checkpoint (causal "
            "self-attention), not an encoder; a BERT2BERT needs a bidirectional encoder "
            "checkpoint such as a BERT one"
        )


def _check_decoder_role(name: str, config: Any) -> None:
    if config.is_encoder_decoder or not _has_causal_head(config):
        raise ValueError(
            f"decoder: a {config.model_type!r} checkpoint ({name!r}) has no causal-LM head in "
            "transformers, so it cannot be the decoder; pass decoder= a checkpoint that has "
            "one (BERT, RoBERTa, GPT-2...)"
        )


def _special_ids(spec: Any) -> tuple[Any, int, int, int]:
    """The Hugging Face tokenizer of ``spec`` and its decoder-start, EOS and PAD ids."""
    eos = pad = None
    if isinstance(spec, (str, os.PathLike)):
        raw = transformers.AutoTokenizer.from_pretrained(str(spec))
    elif hasattr(spec, "hf_tokenizer"):  # the env's HFTokenizer: its EOS and PAD are the env's
        raw, eos, pad = spec.hf_tokenizer, spec.eos_id, spec.pad_id
    elif hasattr(spec, "convert_tokens_to_ids"):
        raw = spec
    else:
        raise TypeError(
            "tokenizer: expected a folder or Hub name, a Hugging Face tokenizer or a textgym "
            f"HFTokenizer, got {type(spec).__name__} (textgym's own tokenizers have no BERT "
            "vocabulary: make the env with the encoder's tokenizer, tokenizer=<its folder>)"
        )
    name = getattr(raw, "name_or_path", "") or type(raw).__name__
    start = raw.cls_token_id if raw.cls_token_id is not None else raw.bos_token_id
    if start is None:
        raise ValueError(
            f"tokenizer: {name!r} has neither a CLS nor a BOS token to start the decoder "
            "(decoder_start_token_id); add one (tokenizer.add_special_tokens({'cls_token': "
            "'[CLS]'})) or use the encoder's own tokenizer"
        )
    if eos is None:  # HFTokenizer's rule, so that the model stops where the env does
        eos = raw.eos_token_id if raw.eos_token_id is not None else raw.sep_token_id
    if eos is None:
        raise ValueError(
            f"tokenizer: {name!r} has neither a SEP nor an EOS token to end a generation "
            "(eos_token_id); add one or use the encoder's own tokenizer"
        )
    if pad is None:
        pad = raw.pad_token_id if raw.pad_token_id is not None else eos
    return raw, int(start), int(eos), int(pad)


# ---------------------------------------------------------------------- run configurations
def checkpoint_for_init(name: str | None, init: str | None, *, tokenizer: Any = None) -> Any:
    """What a run's ``model.name`` and ``model.init`` give :meth:`LMActorCritic.from_env`.

    Args:
        name: A Hub name or local folder; ``None``: the tiny model of ``model.arch``.
        init: ``None``: ``name`` loaded as is; ``"bert2bert"``: a BERT2BERT built from the
            encoder checkpoint ``name`` (:func:`bert2bert`, ids from ``tokenizer``);
            ``"bert2bert-random"``: the same BERT2BERT architecture with random weights (the
            baseline a pretrained warm start is compared with; seed torch first);
            ``"random"``: the architecture of ``name`` with random weights (seed torch first;
            a BERT2BERT folder gives a random encoder-decoder of the same configs).
        tokenizer: The env's tokenizer (``bert2bert`` only).

    Raises:
        ValueError: An unknown ``init``, a missing ``name``, or what :func:`bert2bert` raises.
    """
    if init not in INITS:
        raise ValueError(
            f"model.init: expected null, bert2bert, bert2bert-random or random, got {init!r}"
        )
    if init is None:
        return name
    if name is None:
        raise ValueError(
            f"model.init: {init} needs model.name (the checkpoint whose architecture to use)"
        )
    if init in ("bert2bert", "bert2bert-random"):
        if not hasattr(tokenizer, "hf_tokenizer"):
            raise ValueError(
                f"env.tokenizer: model.init={init} needs the env to use the encoder's "
                f"tokenizer (env.tokenizer={name}), got {type(tokenizer).__name__}"
            )
        return bert2bert(name, tokenizer, pretrained=init == "bert2bert")
    return transformers.AutoConfig.from_pretrained(name)


# ---------------------------------------------------------------------- LoRA
def with_lora(model: Any, lora: Mapping[str, Any] | None = None) -> Any:
    """``model`` wrapped in ``peft`` LoRA adapters on its attention projections.

    The target modules are chosen per model type (GPT-2's Conv1D with ``fan_in_fan_out``;
    BERT's query/key/value, cross-attention included; T5's q/k/v/o; BART's and Marian's
    q/k/v/out projections; both halves of an ``EncoderDecoderModel``); other types get peft's
    defaults. ``lora`` (``peft.LoraConfig`` arguments) overrides any of it.

    Raises:
        ValueError: peft finds nothing to adapt (pass ``lora={"target_modules": [...]}``).
    """
    try:
        import peft
    except ImportError as error:  # pragma: no cover - exercised only without peft
        raise ImportError('reference="lora" needs peft: pip install "textgym[lm]"') from error
    config = model.config
    types = (
        [config.encoder.model_type, config.decoder.model_type]
        if config.model_type == _ENCODER_DECODER
        else [config.model_type]
    )
    options: dict[str, Any] = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0}
    if all(kind in _LORA_TARGETS for kind in types):
        options["target_modules"] = sorted({m for kind in types for m in _LORA_TARGETS[kind]})
        if all(kind in _CONV1D_TYPES for kind in types):
            options["fan_in_fan_out"] = True
    options.update(lora or {})
    task = "SEQ_2_SEQ_LM" if config.is_encoder_decoder else "CAUSAL_LM"
    try:
        return peft.get_peft_model(model, peft.LoraConfig(task_type=task, **options))
    except ValueError as error:
        raise ValueError(
            f"lora: peft cannot adapt this {'/'.join(types)} model ({error}); pass the module "
            "names, lora={'target_modules': [...]}"
        ) from None
