"""Lesson 08 (solutions/08_azure_event_types_and_polling.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
