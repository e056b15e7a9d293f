"""Lesson 10 (solutions/10_semantic_kernel_streaming.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
