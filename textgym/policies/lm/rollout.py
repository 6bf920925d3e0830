"""Synchronous rollouts of a batch of episodes: the policy decodes, the env scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode

from textgym.core.env import TokenMDPEnv
from textgym.policies.lm.decoding import Sampling

if TYPE_CHECKING:
    from textgym.policies.lm.model import LMActorCritic


def make_envs(env_id: str, num_envs: int, **env_kwargs: Any) -> gym.vector.VectorEnv:
    """The vector env rollouts expect: the native one, autoreset off, infos at episode ends.

    ``env_kwargs`` go to the env (``split="validation"``, ``reward_mode="dense"``...).
    """
    return gym.make_vec(
        env_id,
        num_envs=num_envs,
        autoreset_mode=AutoresetMode.DISABLED,
        infos="final",
        **env_kwargs,
    )


def task_of(env: Any) -> TokenMDPEnv:
    """The single-env configuration (tokenizer, dataset, limits) behind a single or vector env.

    Accepts a textgym env, the native :class:`~textgym.vector.TextVectorEnv` or a Gymnasium
    vector env over textgym envs (``SyncVectorEnv``, or ``AsyncVectorEnv``, whose first env
    function is called once here for a local copy of the configuration).
    """
    unwrapped = getattr(env, "unwrapped", env)
    if isinstance(unwrapped, TokenMDPEnv):
        return unwrapped
    task = getattr(unwrapped, "task", None) or getattr(unwrapped, "_textgym_task", None)
    if isinstance(task, TokenMDPEnv):
        return task
    sub_envs = getattr(unwrapped, "envs", None)
    if sub_envs and isinstance(sub_envs[0].unwrapped, TokenMDPEnv):
        return sub_envs[0].unwrapped
    env_fns = getattr(unwrapped, "env_fns", None)  # AsyncVectorEnv: its envs live elsewhere
    if env_fns:
        local = env_fns[0]().unwrapped
        if isinstance(local, TokenMDPEnv):
            unwrapped._textgym_task = local  # built once: the configuration does not change
            return local
    raise TypeError(
        f"env: expected a textgym env or a vector env over textgym envs, got {type(env).__name__}"
    )


@dataclass
class Rollout:
    """A batch of finished episodes. Tensors are on the policy's device; row ``i`` is env ``i``.

    Rows with ``active[i] == False`` held no episode (a last, partial evaluation batch) and have
    no actions.
    """

    prompt_ids: torch.Tensor  # (N, P) int64, right-padded as the env returns them
    prompt_mask: torch.Tensor  # (N, P) int64
    actions: torch.Tensor  # (N, T) int64: the tokens chosen, EOS included; PAD after the end
    action_mask: torch.Tensor  # (N, T) float32: 1 on actions taken
    rewards: torch.Tensor  # (N, T) float32: the env's reward for each action
    log_probs: torch.Tensor  # (N, T) float32: under the sampling distribution
    values: torch.Tensor  # (N, T) float32: value of the state before each action
    scores: np.ndarray  # (N,) float64: the episode's final score (info["metrics"]["score"])
    metrics: list[dict[str, float]]  # per row: info["metrics"] at the end ({} if inactive)
    texts: list[str]  # per row: the generated text
    sample_ids: list[Any]  # per row: info["sample_id"]
    references: list[list[str]]  # per row: info["references"]; [] where the env hides them
    active: np.ndarray  # (N,) bool
    steps: int  # decoding steps taken (model calls after the prompt)

    @property
    def num_tokens(self) -> int:
        """Actions taken over all episodes."""
        return int(self.action_mask.sum().item())


def _reset_rows(
    envs: gym.vector.VectorEnv, ids: Sequence[int], seed: int | None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Reset env ``i`` to sample ``ids[i]``; spare envs replay ``ids[0]`` and stay inactive."""
    n = envs.num_envs
    if len(ids) > n:
        raise ValueError(f"sample_ids: {len(ids)} ids for {n} envs; pass at most num_envs")
    active = np.zeros(n, dtype=np.bool_)
    active[: len(ids)] = True
    obs: dict[str, np.ndarray] = {}
    for i in range(n):
        mask = np.zeros(n, dtype=np.bool_)
        mask[i] = True
        sample_id = int(ids[i]) if i < len(ids) else int(ids[0]) if len(ids) else 0
        obs, _ = envs.reset(seed=seed, options={"reset_mask": mask, "sample_id": sample_id})
        seed = None  # seeds only matter for random draws; one seeding is enough
    return obs, active


def rollout(
    policy: LMActorCritic,
    envs: gym.vector.VectorEnv,
    *,
    sampling: Sampling | None = None,
    generator: torch.Generator | None = None,
    greedy: bool | np.ndarray = False,
    sample_ids: Sequence[int] | None = None,
    seed: int | None = None,
    use_cache: bool = True,
) -> Rollout:
    """Run one episode in every env of ``envs`` with the policy and collect the batch.

    The env is the only source of rewards and metrics. ``envs`` must have autoreset disabled
    (:func:`make_envs`): an env whose episode ended is reset to a placeholder sample and sent
    EOS until the whole batch is done, and those placeholder episodes are ignored.

    Args:
        policy: The policy; its model runs without gradients here.
        envs: A vector env over a textgym task with ``AutoresetMode.DISABLED``.
        sampling: Temperature/top-k/top-p (default: plain sampling at temperature 1).
        generator: The random source of sampling (seed it for reproducible runs).
        greedy: ``True`` for greedy decoding, or a bool mask ``(N,)`` of greedy rows.
        sample_ids: Dataset indices to replay, one per env (fewer leaves spare envs
            inactive); ``None`` lets the envs draw samples with their own seeded RNGs.
        seed: Passed to ``envs.reset`` (``None`` continues the envs' RNG streams).
        use_cache: KV-cached stepping (``False`` recomputes the prefix at every token).

    Raises:
        ValueError: If ``envs`` does not have autoreset disabled.
    """
    mode = envs.metadata.get("autoreset_mode")
    if mode is not None and AutoresetMode(mode) != AutoresetMode.DISABLED:
        raise ValueError(
            "envs: rollouts need autoreset_mode=AutoresetMode.DISABLED (see make_envs()); "
            f"got {mode}"
        )
    sampling = sampling or Sampling()
    task = task_of(envs)
    n, horizon = envs.num_envs, task.max_new_tokens
    eos, pad = int(task.tokenizer.eos_id), int(task.tokenizer.pad_id)
    device = policy.device

    if sample_ids is None:
        obs, _ = envs.reset(seed=seed)
        active = np.ones(n, dtype=np.bool_)
        placeholder = 0
    else:
        obs, active = _reset_rows(envs, list(sample_ids), seed)
        placeholder = int(sample_ids[0]) if len(sample_ids) else 0
    greedy_rows: bool | torch.Tensor = (
        greedy if isinstance(greedy, bool) else torch.as_tensor(greedy, device=device)
    )
    prompt_ids = torch.as_tensor(obs["prompt_ids"], device=device)
    prompt_mask = torch.as_tensor(obs["prompt_mask"], device=device)

    actions = torch.full((n, horizon), pad, dtype=torch.long, device=device)
    action_mask = torch.zeros((n, horizon), device=device)
    rewards = torch.zeros((n, horizon), device=device)
    log_probs = torch.zeros((n, horizon), device=device)
    values = torch.zeros((n, horizon), device=device)
    scores = np.zeros(n)
    metrics: list[dict[str, float]] = [{} for _ in range(n)]
    texts = [""] * n
    ids: list[Any] = [None] * n
    references: list[list[str]] = [[] for _ in range(n)]

    state, logits, value = policy.start(prompt_ids, prompt_mask, use_cache=use_cache)
    running = active.copy()
    ended = np.zeros(n, dtype=np.bool_)
    steps = 0
    for t in range(horizon):
        running_t = torch.as_tensor(running, device=device)
        tokens = sampling.sample(logits, generator, greedy_rows)
        chosen = sampling.log_probs(logits).gather(1, tokens[:, None]).squeeze(1)
        actions[:, t] = torch.where(running_t, tokens, pad)
        action_mask[:, t] = running_t.float()
        log_probs[:, t] = torch.where(running_t, chosen, 0.0)
        values[:, t] = torch.where(running_t, value, 0.0)

        if ended.any():  # autoreset is off: ended envs must be reset before any step
            envs.reset(options={"reset_mask": ended.copy(), "sample_id": placeholder})
        env_actions = np.where(running, tokens.cpu().numpy(), eos).astype(np.int64)
        _, reward, terminated, truncated, infos = envs.step(env_actions)
        ended = np.asarray(terminated | truncated, dtype=np.bool_)
        rewards[:, t] = torch.as_tensor(np.where(running, reward, 0.0), device=device)
        for i in np.flatnonzero(running & ended):
            metrics[i] = {
                name: float(column[i])
                for name, column in infos["metrics"].items()
                if not name.startswith("_")
            }
            scores[i] = metrics[i]["score"]
            texts[i] = str(infos["generated"][i])
            ids[i] = infos["sample_id"][i]
            if "references" in infos:  # absent from envs built with info_references=False
                references[i] = list(infos["references"][i])
        running &= ~ended
        if not running.any():
            break
        logits, value = policy.advance(state, torch.where(running_t, tokens, pad))
        steps += 1
    return Rollout(
        prompt_ids=prompt_ids,
        prompt_mask=prompt_mask,
        actions=actions,
        action_mask=action_mask,
        rewards=rewards,
        log_probs=log_probs,
        values=values,
        scores=scores,
        metrics=metrics,
        texts=texts,
        sample_ids=ids,
        references=references,
        active=active,
        steps=steps + 1,
    )
