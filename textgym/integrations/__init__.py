"""Adapters to other training libraries. Each module imports its library when imported itself.

- :mod:`textgym.integrations.trl`: a textgym task as a ``datasets.Dataset`` and TRL reward
  functions (``GRPOTrainer``, ``RLOOTrainer``) computed by the env's own scorers.
"""
