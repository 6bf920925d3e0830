"""The one record every data source yields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Sample:
    """One task instance: a source text and the references a generation is scored against.

    Attributes:
        id: Stable identifier, unique within a dataset (for example ``"validation-17"``).
        source: The text the prompt is built from (a document, a sentence, a dialogue context).
        references: One or more acceptable outputs; the first is the canonical one the
            reference policy emits.
        meta: Free-form, JSON-serialisable details (difficulty, facts used...).
    """

    id: str
    source: str
    references: tuple[str, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.source, str):
            raise TypeError(
                f"Sample {self.id!r}: source must be a str, got {type(self.source).__name__}"
            )
        refs = self.references
        if isinstance(refs, str) or not all(isinstance(r, str) for r in refs):
            raise TypeError(
                f"Sample {self.id!r}: references must be a sequence of str, got {refs!r}"
            )
        if len(refs) == 0:
            raise ValueError(
                f"Sample {self.id!r}: references is empty; at least one is needed to score"
            )
        for i, ref in enumerate(refs):
            if not ref.strip():
                raise ValueError(
                    f"Sample {self.id!r}: references[{i}] is empty or whitespace; "
                    "an empty reference cannot be scored"
                )
        if not isinstance(refs, tuple):
            object.__setattr__(self, "references", tuple(refs))
