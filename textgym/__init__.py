"""textgym: text generation as reinforcement-learning environments.

Importing the package registers its environments with Gymnasium (``TextTrans-v0``,
``TextSumm-v0``, ``TextDial-v0`` and their variants). It is cheap: torch, transformers and
datasets are only imported by the parts that need them.
"""

from textgym.registration import BENCHMARK, ENV_IDS, register_envs

__version__ = "0.1.0"

register_envs()

__all__ = ["BENCHMARK", "ENV_IDS", "__version__", "register_envs"]
