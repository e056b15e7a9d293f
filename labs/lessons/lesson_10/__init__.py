"""Lesson 10 (solutions/10_resilience_and_metrics.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
