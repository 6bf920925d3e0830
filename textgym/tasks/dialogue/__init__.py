"""The dialogue task family."""
