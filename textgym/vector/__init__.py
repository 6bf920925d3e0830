"""The native batched vector env and its ``vector_entry_point`` factories."""

from textgym.vector.entry_points import dialogue, summarization, translation
from textgym.vector.env import TextVectorEnv

__all__ = ["TextVectorEnv", "dialogue", "summarization", "translation"]
