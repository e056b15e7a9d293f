"""`python -m labs.chat [--backend chat|agents] [--speed S]`."""

from .terminal import main

raise SystemExit(main())
