"""Lesson 03 (solutions/03_streamed_tool_calls.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
