"""Lesson 06 (solutions/06_azure_event_handlers.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
