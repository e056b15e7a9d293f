"""Lesson 09 (solutions/09_sse_to_the_browser.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
