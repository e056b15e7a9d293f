"""Lesson 02 (solutions/02_collect_while_streaming.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
