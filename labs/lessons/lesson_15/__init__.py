"""Lesson 15 (solutions/15_error_budgets_and_bad_tool_json.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
