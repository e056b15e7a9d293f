"""`python -m labs.web [--port N] [--host H]`: serve the streaming chat page (replay mode by default)."""

from .app import main

main()
