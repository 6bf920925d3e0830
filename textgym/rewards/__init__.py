"""Rewards: the scorer protocol, metric scorers, and model-based rewards (semantic similarity,
learned reward models), whose heavy dependencies are imported only when they are used, and
:class:`RayScorer`, which serves one from a Ray actor shared by every env."""

from textgym.rewards.base import RescoringTracker, Scorer, ScoreTracker
from textgym.rewards.learned import LearnedReward
from textgym.rewards.ray_scorer import RayScorer
from textgym.rewards.semantic import SemanticSimilarity

__all__ = [
    "LearnedReward",
    "RayScorer",
    "RescoringTracker",
    "ScoreTracker",
    "Scorer",
    "SemanticSimilarity",
]
