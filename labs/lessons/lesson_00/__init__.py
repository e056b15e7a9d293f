"""Lesson 00 (solutions/00_setup_and_replay.ipynb): scenarios.py records its fixtures; it has no exercises."""
