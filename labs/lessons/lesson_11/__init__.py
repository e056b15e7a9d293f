"""Lesson 11 (solutions/11_latency_and_stop.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
