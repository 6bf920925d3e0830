"""Wrappers for textgym environments, named for what they change.

- :class:`ActionMaskWrapper` (``textgym.wrappers.action_masks``): adds ``action_masks()`` for
  sb3-contrib's ``MaskablePPO``, from a bigram proposal fitted on the train split
  (:func:`fit_bigram`), the train references' vocabulary, or (oracle only) the current sample's
  references.

Only numpy and gymnasium are imported here.
"""

from textgym.wrappers.action_masks import MASK_MODES, ActionMaskWrapper, BigramModel, fit_bigram

__all__ = ["MASK_MODES", "ActionMaskWrapper", "BigramModel", "fit_bigram"]
