"""Lesson 11 (solutions/11_semantic_kernel_functions.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
