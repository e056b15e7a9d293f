"""`python -m labs.replay serve [--port N] [--speed S]`: the replay server in the foreground, for curl or any client."""

from __future__ import annotations

import argparse

from ..config import settings
from .server import ReplayServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m labs.replay", description="Serve recorded LLM responses on 127.0.0.1.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the replay server in the foreground")
    serve.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    serve.add_argument("--speed", type=float, default=None, help="1 = as recorded, 0 = no delay (default: LABS_REPLAY_SPEED or 1)")
    args = parser.parse_args(argv)
    current = settings()
    server = ReplayServer(speed=current.speed if args.speed is None else args.speed, port=args.port)
    server.bind()
    print(f"Replay server on {server.url}  ({len(server.library.cassettes)} fixtures, speed {server.speed:g})", flush=True)
    print(f"  OpenAI base URL:  {server.openai_base_url}", flush=True)
    print(f"  Azure endpoint:   {server.azure_endpoint}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
