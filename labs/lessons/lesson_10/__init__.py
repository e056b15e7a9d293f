"""Lesson 10 (solutions/10_resilience.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
