"""`python -m labs.authoring [name-prefix ...]`: re-record the scenarios whose names start with a prefix."""

import sys

from . import all_scenarios, author

prefixes = sys.argv[1:]
chosen = [s for s in all_scenarios() if not prefixes or s.name.startswith(tuple(prefixes))]
if not chosen:
    raise SystemExit(f"no scenario starts with {' or '.join(prefixes)}")
author(chosen)
