"""`python -m labs.replay serve | schema | import`: the replay server in the foreground, the wire schema, captures to fixtures.

- `serve [--port N] [--speed S]`: the replay server, for curl or any client;
- `schema --from FOLDER`: regenerate `labs/replay/wire_schema.json` from real captured streams (`*.sse`);
- `import BODY --request REQUEST.json --out FOLDER`: a captured stream (raw SSE or a HAR file) as a fixture.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import settings
from .loopback import serve_until_ctrl_c
from .server import ReplayServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m labs.replay", description="Serve recorded LLM responses on 127.0.0.1.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the replay server in the foreground")
    serve.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    serve.add_argument("--speed", type=float, default=None, help="1 = as recorded, 0 = no delay (default: LABS_REPLAY_SPEED or 1)")
    schema = commands.add_parser("schema", help="regenerate the wire schema from real captured streams")
    schema.add_argument("--from", dest="source", type=Path, required=True, help="a folder of captured streams (*.sse), such as ../shared/wire-samples")
    schema.add_argument("--out", type=Path, default=None, help="where to write it (default: labs/replay/wire_schema.json)")
    capture = commands.add_parser("import", help="turn a captured stream (raw SSE as curl -N prints it, or a HAR file) into a fixture")
    capture.add_argument("body", type=Path, help="the captured body: raw SSE, or a HAR file exported from a browser (it holds its requests)")
    capture.add_argument("--request", type=Path, default=None, help="the JSON body the client sent (for raw SSE; or {method, path, body})")
    capture.add_argument("--out", type=Path, required=True, help="the folder to write the fixture in (use it with LABS_FIXTURES)")
    capture.add_argument("--name", default=None, help="the fixture's name, slugs joined by / (default: a slug of the prompt)")
    capture.add_argument("--comment", default=None, help="what is special about this scenario (default: where it came from and its timing)")
    args = parser.parse_args(argv)
    if args.command == "import":
        from .importer import CaptureError, import_capture

        try:
            written = import_capture(args.body, args.out, request=args.request, name=args.name, comment=args.comment)
        except (CaptureError, OSError, ValueError) as exc:
            parser.error(f"import: {exc}")
        print(f"Wrote {written}; replay it with LABS_FIXTURES={args.out}", flush=True)
        return
    if args.command == "schema":
        from .wire_schema import SCHEMA_PATH, write_schema

        written = write_schema(args.source, args.out or SCHEMA_PATH)
        for api, facts in written["apis"].items():
            print(f"{api}: {facts['captures']} captures, {facts['events']} events, years {facts['years']}", flush=True)
        print(f"Wrote {args.out or SCHEMA_PATH}", flush=True)
        return
    current = settings()
    server = ReplayServer(speed=current.speed if args.speed is None else args.speed, port=args.port)
    server.bind()
    print(f"Replay server on {server.url}  ({len(server.library.cassettes)} fixtures, speed {server.speed:g})", flush=True)
    print(f"  OpenAI base URL:  {server.openai_base_url}", flush=True)
    print(f"  Azure endpoint:   {server.azure_endpoint}", flush=True)
    serve_until_ctrl_c(server.serve_forever, "Stopped: the replay server is no longer serving.")


if __name__ == "__main__":
    main()
