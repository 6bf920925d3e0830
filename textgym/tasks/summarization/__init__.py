"""The summarization task family."""
