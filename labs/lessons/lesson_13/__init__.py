"""Lesson 13 (solutions/13_sse_route_and_page.ipynb): scenarios.py records its fixtures; checks.py grades its exercises,
with route.py (exercise 13.1: the learner's FastAPI route, in-process and over loopback) and page.py (exercise 13.2: the
learner's page script in headless Chromium against a reference route)."""
