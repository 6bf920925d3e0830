"""Rewards: the scorer protocol, metric scorers, and model-based rewards (semantic similarity,
learned reward models), whose heavy dependencies are imported only when they are used."""

from textgym.rewards.base import RescoringTracker, Scorer, ScoreTracker
from textgym.rewards.learned import LearnedReward
from textgym.rewards.semantic import SemanticSimilarity

__all__ = [
    "LearnedReward",
    "RescoringTracker",
    "ScoreTracker",
    "Scorer",
    "SemanticSimilarity",
]
