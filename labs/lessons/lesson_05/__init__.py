"""Lesson 05 (solutions/05_agents_sdk_streaming.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
