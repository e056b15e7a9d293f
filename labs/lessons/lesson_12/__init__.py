"""Lesson 12 (solutions/12_sse_to_the_browser.ipynb): scenarios.py records its fixtures; checks.py grades its exercises,
with reader.py (exercise 12.2: a recorded answer framed as the web app frames it, cut anywhere, read as a browser reads it)."""
