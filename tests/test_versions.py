"""Versions of the registered ids: v0 frozen bit for bit, v1 the benchmark, floors asserted.

A change of data, reward or tokenisation of a registered id is a new version; the old one stays
registered and unchanged. The fingerprints below were computed on the code that first
published the v0 ids (before v1 existed): any change to what a v0 id returns breaks them.
"""

from __future__ import annotations

import hashlib
import json
import warnings

import gymnasium as gym
import numpy as np
import pytest

import textgym
from textgym.bench.floors import FLOOR_POLICIES, TARGETS, floor_scores, floor_texts
from textgym.registration import BENCHMARK, EASY, ENV_IDS, LATEST_VERSION

V0_FINGERPRINTS = {
    "TextTrans-v0": "0bdded437ef8a271",
    "TextTrans-Easy-v0": "afc370d7a778c175",
    "TextTrans-Hard-v0": "41e51c55dd981bae",
    "TextSumm-v0": "86638a1612314909",
    "TextSumm-Easy-v0": "a9ca9cbd192e1145",
    "TextSumm-Hard-v0": "17a075ca74130cbb",
    "TextDial-v0": "95afbf9110cfd7c4",
    "TextDial-Easy-v0": "b95c4dfd5dfcf8cd",
    "TextDial-Hard-v0": "8f5b3b205909413f",
}
LATEST_IDS = [i for i in ENV_IDS if i.endswith(f"-v{LATEST_VERSION}")]


def make(env_id: str, **kwargs: object) -> gym.Env:
    with warnings.catch_warnings():
        # Gymnasium says "out of date, upgrade to v1" when a v0 id is made: expected here.
        warnings.simplefilter("ignore", DeprecationWarning)
        return gym.make(env_id, **kwargs)


def fingerprint(env_id: str, episodes: int = 4) -> str:
    """Hash of samples, prompt ids, per-step rewards and final metrics, both reward modes,
    reference and random policies."""
    h = hashlib.sha256()
    for mode in ("terminal", "dense"):
        env = make(env_id, reward_mode=mode)
        env.action_space.seed(3)
        for episode in range(episodes):
            obs, info = env.reset(seed=11 if episode == 0 else None)
            h.update(json.dumps([info["source"], info["references"]]).encode())
            h.update(obs["prompt_ids"].tobytes())
            done = False
            while not done:
                if episode % 2 == 0:
                    action = env.unwrapped.reference_action()
                else:
                    action = env.action_space.sample()
                obs, reward, terminated, truncated, info = env.step(action)
                h.update(np.float64(reward).tobytes())
                done = terminated or truncated
            h.update(json.dumps(info["metrics"], sort_keys=True).encode())
    return h.hexdigest()[:16]


def test_suites_use_the_latest_version_and_every_version_stays_registered() -> None:
    assert LATEST_VERSION == 1
    assert BENCHMARK == ("TextTrans-v1", "TextSumm-v1", "TextDial-v1")
    assert EASY == ("TextTrans-Easy-v1", "TextSumm-Easy-v1", "TextDial-Easy-v1")
    assert set(V0_FINGERPRINTS) <= set(ENV_IDS)
    assert len(ENV_IDS) == 18
    assert textgym.BENCHMARK == BENCHMARK


@pytest.mark.parametrize("env_id", list(V0_FINGERPRINTS))
def test_v0_ids_are_unchanged(env_id: str) -> None:
    assert fingerprint(env_id) == V0_FINGERPRINTS[env_id]


@pytest.mark.parametrize("family", ["TextTrans", "TextSumm", "TextDial"])
def test_v1_differs_from_v0_only_where_announced(family: str) -> None:
    v0, v1 = make(f"{family}-v0").unwrapped, make(f"{family}-v1").unwrapped
    assert v1.task_version == 1 and v0.task_version == 0
    assert "content" in v1.scorer.name and "content" not in v0.scorer.name
    assert "content" in [s.name for s in v1.report]
    same_data = [v0.dataset[i] for i in range(20)] == [v1.dataset[i] for i in range(20)]
    # Only the summarization data changed (the lead moved); the others changed their reward.
    assert same_data is (family != "TextSumm")


def test_task_version_is_checked() -> None:
    with pytest.raises(ValueError, match=r"task_version: expected one of \[0, 1\], got 7"):
        gym.make("TextSumm-v1", task_version=7)


def test_summary_lead_is_not_always_first_in_v1() -> None:
    v0 = make("TextSumm-Easy-v0").unwrapped.dataset
    v1 = gym.make("TextSumm-Easy-v1").unwrapped.dataset
    assert all(v0[i].meta["key_sentences"][0] == 0 for i in range(200))
    firsts = [v1[i].meta["key_sentences"][0] == 0 for i in range(200)]
    # The lead (or a key fact) opens a document only by chance: about 1 in (sentences + 1).
    assert 0.1 < np.mean(firsts) < 0.6


def _check(report: object) -> None:
    violations = report.violations()  # type: ignore[attr-defined]
    assert not violations, f"{report.env_id}: {violations}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("env_id", LATEST_IDS)
def test_degenerate_policies_score_far_below_the_reference(env_id: str) -> None:
    # A cheaper search than the published one (100 train samples, 40 candidate tokens, up to
    # 16 tokens) keeps the default run short; the full protocol runs in the slow test below.
    report = floor_scores(env_id, samples=100, search_samples=30, candidates=20, max_tokens=10)
    assert report.scores["reference"] == 1.0
    assert report.scores["empty"] == 0.0
    assert set(FLOOR_POLICIES) <= set(report.scores)
    _check(report)


@pytest.mark.slow
@pytest.mark.parametrize("env_id", LATEST_IDS)
def test_floors_on_the_published_protocol(env_id: str) -> None:
    _check(floor_scores(env_id, samples=200, search_samples=100))


@pytest.mark.parametrize("env_id", ["TextSumm-Easy-v0", "TextDial-Easy-v0"])
def test_floors_expose_the_v0_defects(env_id: str) -> None:
    # The audit that motivated v1: on v0 a constant string scores like a trained agent.
    report = floor_scores(env_id, samples=60, search_samples=20, candidates=15, max_tokens=8)
    assert report.scores["constant"] > TARGETS["constant"]
    assert report.violations()


def test_floors_are_deterministic() -> None:
    a = floor_scores("TextDial-Easy-v1", samples=30, search_samples=10, candidates=10)
    b = floor_scores("TextDial-Easy-v1", samples=30, search_samples=10, candidates=10)
    assert a == b


def test_floor_texts_are_what_floor_scores_scores() -> None:
    kwargs = dict(samples=20, search_samples=10, candidates=8, max_tokens=4)
    made = floor_texts("TextTrans-Easy-v1", **kwargs)  # type: ignore[arg-type]
    report = floor_scores("TextTrans-Easy-v1", **kwargs)  # type: ignore[arg-type]
    assert set(made.texts) == {"reference", *FLOOR_POLICIES}
    assert all(len(t) == len(made.samples) == 20 for t in made.texts.values())
    assert made.texts["empty"] == [""] * 20
    assert made.texts["constant"] == [made.constant_text] * 20
    for name, texts in made.texts.items():  # the same seeded draws, the same texts
        assert made.scoring.mean(texts, made.samples) == report.scores[name], name


def test_the_constant_is_searched_on_another_split_than_it_is_scored_on() -> None:
    kwargs = dict(samples=10, search_samples=8, candidates=5, max_tokens=3)
    other = floor_texts("TextDial-Easy-v1", split="test", search_split="validation", **kwargs)  # type: ignore[arg-type]
    train = floor_texts("TextDial-Easy-v1", split="test", **kwargs)  # type: ignore[arg-type]
    assert other.samples == train.samples
    assert other.constant_text != train.constant_text  # searched on other samples
    with pytest.raises(ValueError, match="search_split.*'test'"):
        floor_texts("TextDial-Easy-v1", split="test", search_split="test", **kwargs)  # type: ignore[arg-type]


def _docstring_floors(env_id: str) -> list[float]:
    import re

    doc = gym.spec(env_id).make().unwrapped.__class__.__doc__ or ""
    section = doc.split("## Floors (v1)", 1)[1].split("##", 1)[0]
    match = re.search(rf"``{re.escape(env_id)}``: ([0-9. /]+)", section)
    assert match, f"{env_id} has no floors line in its docstring"
    return [float(x) for x in match.group(1).split("/")]


@pytest.mark.parametrize("env_id", LATEST_IDS)
def test_docstring_states_floors_that_meet_the_targets(env_id: str) -> None:
    values = dict(zip(FLOOR_POLICIES, _docstring_floors(env_id), strict=True))
    assert all(values[name] <= limit for name, limit in TARGETS.items())
    assert values["reference_junk"] < 1.0


@pytest.mark.slow
@pytest.mark.parametrize("env_id", LATEST_IDS)
def test_docstring_floors_are_the_measured_ones(env_id: str) -> None:
    report = floor_scores(env_id, samples=200, search_samples=100)
    stated = _docstring_floors(env_id)
    assert stated == [round(report.scores[p], 3) for p in FLOOR_POLICIES]


def test_floor_verdicts() -> None:
    from textgym.bench.suite import floor_verdict

    assert floor_verdict(0.30, 0.21, 0.20) == "yes"
    assert floor_verdict(0.30, 0.20, 0.20) == "IQM only"
    assert floor_verdict(0.20, 0.10, 0.20) == "no"


def test_strongest_blind_floor_ignores_the_shuffled_reference() -> None:
    report = floor_scores("TextDial-Easy-v1", samples=30, search_samples=10, candidates=10)
    assert report.strongest[0] == "shuffled_reference"
    name, value = report.strongest_blind
    assert name != "shuffled_reference"
    assert value == max(report.scores[k] for k in ("empty", "constant", "copy_source",
                                                   "copy_prefix", "other_reference"))
