"""Lesson 07 (solutions/07_azure_event_handlers.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
