"""Policy-side helpers for learning agents on textgym environments.

Nothing here is imported by ``import textgym``: the modules import torch and their RL library
when they are imported themselves, so the environments stay light.

- :mod:`textgym.policies.sb3`: a Stable-Baselines3 features extractor that embeds token ids, and
  ``policy_kwargs()`` for the one-liner
  ``PPO("MultiInputPolicy", env, policy_kwargs=textgym.policies.sb3.policy_kwargs())``
  (needs ``pip install "textgym[sb3]"``).
- :mod:`textgym.policies.rllib`: an RLlib (new API stack) ``TorchRLModule`` with the same
  token-id encoder, a policy head and a value head (``ValueFunctionAPI``), and its APPO variant
  (needs ``pip install "textgym[rllib]"``, in a virtual environment of its own: RLlib pins
  gymnasium); ``textgym train ENV --algo rllib-ppo`` uses it.
- :mod:`textgym.policies.lm`: an actor-critic around any Hugging Face causal LM or
  encoder-decoder, with KV-cached batched stepping, sampling controls and a frozen or LoRA
  reference policy (needs ``pip install "textgym[lm]"``); trained by :mod:`textgym.algos`.
"""
