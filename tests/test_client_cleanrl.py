"""A CleanRL-style PPO loop (one file, plain torch) over ``gym.vector.SyncVectorEnv``.

CleanRL's scripts step a Gymnasium vector env, read episode returns from
``RecordEpisodeStatistics`` and treat the observation after ``done`` as the next episode's
first one, which is Gymnasium 1.x's ``SAME_STEP`` autoreset. The loop here is written in that
style and run over ``SyncVectorEnv`` of single envs and over the native vector env.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import textgym  # noqa: E402,F401

ENV_ID = "TextDial-Easy-v1"
NUM_ENVS = 4
NUM_STEPS = 16
UPDATES = 2
# ROUGE-1 rather than the v1 product reward, so that random token ids already score above 0.
ENV_KWARGS = {"reward": "rouge1", "infos": "final"}


class Agent(nn.Module):
    """Bag of token embeddings of prompt and prefix -> logits over the vocabulary and a value."""

    def __init__(self, vocab_size: int, dim: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.actor = nn.Linear(2 * dim, vocab_size)
        self.critic = nn.Linear(2 * dim, 1)

    def features(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        parts = []
        for ids, mask in (("prompt_ids", "prompt_mask"), ("generated_ids", "generated_mask")):
            weights = obs[mask].float().unsqueeze(-1)
            pooled = (self.embed(obs[ids]) * weights).sum(1) / weights.sum(1).clamp(min=1)
            parts.append(pooled)
        return torch.cat(parts, dim=-1)

    def act(self, obs: dict[str, torch.Tensor], action: torch.Tensor | None = None):
        hidden = self.features(obs)
        dist = torch.distributions.Categorical(logits=self.actor(hidden))
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.critic(hidden).squeeze(-1)


def as_tensors(obs: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {key: torch.as_tensor(value) for key, value in obs.items()}


def run_ppo(envs: gym.vector.VectorEnv, seed: int = 0) -> tuple[list[float], list[float]]:
    """Train a few PPO updates; returns the logged episodic returns and the final scores."""
    torch.manual_seed(seed)
    envs = gym.wrappers.vector.RecordEpisodeStatistics(envs)
    agent = Agent(int(envs.single_action_space.n))
    optimizer = torch.optim.Adam(agent.parameters(), lr=1e-3)
    episodic_returns: list[float] = []  # what CleanRL writes as charts/episodic_return
    final_scores: list[float] = []
    obs, _ = envs.reset(seed=seed)
    next_done = torch.zeros(NUM_ENVS)
    for _ in range(UPDATES):
        batch_obs, actions, logprobs, rewards, dones, values = [], [], [], [], [], []
        for _ in range(NUM_STEPS):
            tensors = as_tensors(obs)
            with torch.no_grad():
                action, logprob, _, value = agent.act(tensors)
            batch_obs.append(tensors)
            dones.append(next_done)
            # Integer token ids: textgym rejects float actions.
            obs, reward, terminations, truncations, infos = envs.step(action.numpy())
            next_done = torch.as_tensor(terminations | truncations, dtype=torch.float32)
            actions.append(action)
            logprobs.append(logprob)
            values.append(value)
            rewards.append(torch.as_tensor(reward, dtype=torch.float32))
            if "episode" in infos:
                ended = infos["_episode"].nonzero()[0]
                episodic_returns += infos["episode"]["r"][ended].tolist()
                final_scores += infos["final_info"]["metrics"]["score"][ended].tolist()
        with torch.no_grad():
            next_value = agent.act(as_tensors(obs))[3]
        # GAE; with SAME_STEP autoreset the observation after a done belongs to a new episode.
        advantages = torch.zeros(NUM_STEPS, NUM_ENVS)
        last = torch.zeros(NUM_ENVS)
        for t in reversed(range(NUM_STEPS)):
            not_done = 1.0 - (next_done if t == NUM_STEPS - 1 else dones[t + 1])
            following = next_value if t == NUM_STEPS - 1 else values[t + 1]
            delta = rewards[t] + 0.99 * following * not_done - values[t]
            last = delta + 0.99 * 0.95 * not_done * last
            advantages[t] = last
        returns = advantages + torch.stack(values)
        flat_obs = {key: torch.cat([o[key] for o in batch_obs]) for key in batch_obs[0]}
        _, new_logprob, entropy, new_value = agent.act(flat_obs, torch.cat(actions))
        ratio = (new_logprob - torch.cat(logprobs)).exp()
        adv = advantages.flatten()
        policy_loss = -torch.min(ratio * adv, ratio.clamp(0.8, 1.2) * adv).mean()
        loss = policy_loss + 0.5 * ((new_value - returns.flatten()) ** 2).mean()
        loss = loss - 0.01 * entropy.mean()
        assert torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return episodic_returns, final_scores


def sync_envs() -> gym.vector.SyncVectorEnv:
    # infos="final": the loop reads only episode ends, as CleanRL's scripts do.
    return gym.vector.SyncVectorEnv(
        [lambda: gym.make(ENV_ID, **ENV_KWARGS) for _ in range(NUM_ENVS)],
        autoreset_mode=AutoresetMode.SAME_STEP,
    )


def test_cleanrl_style_ppo_over_sync_vector_env_logs_episodic_returns() -> None:
    returns, scores = run_ppo(sync_envs())
    assert len(returns) >= 3  # several episodes ended within 2 x 16 x 4 steps
    # Terminal rewards: an episode's return is its final score.
    assert returns == pytest.approx(scores, abs=1e-12)
    assert all(0 <= r <= 1 for r in returns) and max(returns) > 0


def test_native_vector_env_runs_the_same_loop_identically() -> None:
    native = gym.make_vec(ENV_ID, NUM_ENVS, autoreset_mode=AutoresetMode.SAME_STEP, **ENV_KWARGS)
    assert run_ppo(native) == run_ppo(sync_envs())
