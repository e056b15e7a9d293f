"""Lesson 16 (solutions/16_latency_and_stop.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
