"""Lesson 09 (solutions/09_azure_tools_and_async.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
