"""Lesson 04 (solutions/04_tool_progress.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
