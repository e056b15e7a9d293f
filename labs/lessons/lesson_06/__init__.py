"""Lesson 06 (solutions/06_agents_sdk_handoffs_and_chat.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
