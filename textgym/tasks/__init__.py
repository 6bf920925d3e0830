"""Task families: one sub-package each, with its env class and embedded data generator."""
