"""Tokenizers: the small protocol envs depend on, the embedded word tokenizer, and an adapter for
any Hugging Face tokenizer (``transformers`` is imported only when one is used)."""

from textgym.tokenizers.base import Tokenizer
from textgym.tokenizers.embedded import WordTokenizer
from textgym.tokenizers.hf import HFTokenizer, as_tokenizer, check_tokenizer_matches

__all__ = ["HFTokenizer", "Tokenizer", "WordTokenizer", "as_tokenizer", "check_tokenizer_matches"]
