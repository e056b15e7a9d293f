"""`python -m labs.replay serve [--port N] [--speed S]`."""

from . import main

main()
