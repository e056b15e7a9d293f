"""Lesson 01 (solutions/01_basic_streaming.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
