"""Lesson 08 (solutions/08_semantic_kernel_streaming.ipynb): scenarios.py records its fixtures; checks.py grades its exercises."""
