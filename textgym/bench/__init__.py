"""Experiment running: rollouts of simple policies, and (later) benchmark suites."""
