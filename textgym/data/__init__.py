"""Samples and the sources they come from."""

from textgym.data.embedded import EmbeddedDataset, split_of
from textgym.data.sample import Sample
from textgym.data.sources import as_dataset

__all__ = ["EmbeddedDataset", "Sample", "as_dataset", "split_of"]
