"""Lesson 14 (solutions/14_resilience.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
