"""Lesson 12 (solutions/12_sse_to_the_browser.ipynb): scenarios.py records its fixtures; checks.py grades its exercises,
with route.py (exercise 12.2: the learner's FastAPI route, in-process and over loopback) and page.py (exercise 12.3: the
learner's page script in headless Chromium against a reference route)."""
