"""Serve the drill services in the foreground: `python -m labs.replay.standins.drill [--seed N] [--env-file PATH]`.

It prints the environment a live run needs (as shell commands, and into `--env-file` if given), then serves
until Ctrl-C or SIGTERM, then removes its certificate. In another shell, `. drill.env` sets the environment; run the notebooks from there.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .services import drill_services


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.replay.standins.drill", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--openai-pace", type=float, default=1.0, help="scale of the OpenAI waits (1: real time)")
    parser.add_argument("--azure-pace", type=float, default=0.1, help="scale of the Azure waits (1: real time)")
    parser.add_argument("--env-file", type=Path, help="also write the shell commands to this file")
    options = parser.parse_args(argv)
    with drill_services(options.seed, openai_pace=options.openai_pace, azure_pace=options.azure_pace) as services:
        exports = services.shell_exports()
        if options.env_file:
            options.env_file.write_text(exports + "\n", encoding="utf-8")
        print(exports, flush=True)
        print("# serving the drill services; Ctrl-C (or SIGTERM) stops them", file=sys.stderr, flush=True)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())  # also when started in the background, where SIGINT is ignored
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
