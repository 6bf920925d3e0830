"""Samples and the sources they come from: embedded generators, in-memory records, local files,
saved Hugging Face datasets, standard corpora on the Hub and public corpora in their
original release formats (``datasets`` is imported only when needed)."""

from textgym.data.corpora import LOCAL_CORPORA, local_corpus
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
    "LOCAL_CORPORA",
    "Sample",
    "as_dataset",
    "corpus",
    "epoch_indices",
    "local_corpus",
    "split_of",
]
