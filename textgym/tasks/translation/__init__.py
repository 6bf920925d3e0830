"""The translation task family."""
