"""Samples and the sources they come from: embedded generators, in-memory records, local files,
saved Hugging Face datasets and standard corpora (``datasets`` is imported only when needed)."""

from textgym.data.embedded import EmbeddedDataset, split_of
from textgym.data.hf import CORPORA, HFDataset, corpus
from textgym.data.mapping import Columns
from textgym.data.sample import Sample
from textgym.data.sources import as_dataset, epoch_indices

__all__ = [
    "CORPORA",
    "Columns",
    "EmbeddedDataset",
    "HFDataset",
    "Sample",
    "as_dataset",
    "corpus",
    "epoch_indices",
    "split_of",
]
