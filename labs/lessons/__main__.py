"""`python -m labs.lessons list | record PREFIX... | refresh NN`: the scenarios, re-authoring them, refreshing a lesson live."""

from __future__ import annotations

import argparse

from . import all_scenarios, author, select


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m labs.lessons", description="The lessons' recorded scenarios.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list every scenario: its fixture name, surface and comment")
    record = commands.add_parser("record", help="re-record the scenarios whose names start with a prefix")
    record.add_argument("prefixes", nargs="+", metavar="PREFIX", help="e.g. 03_ (a lesson) or 02_collect_while_streaming/refusal")
    refreshing = commands.add_parser("refresh", help="record a lesson against the service in .env, replace its fixtures and outputs")
    refreshing.add_argument("lesson", help="the lesson number, e.g. 03")
    args = parser.parse_args(argv)
    if args.command == "refresh":
        from .refresh import refresh

        print(refresh(args.lesson))
        return
    if args.command == "list":
        for scenario in all_scenarios():
            print(f"{scenario.name}  [{scenario.surface}]  {scenario.comment.splitlines()[0] if scenario.comment else ''}")
        return
    chosen = select(args.prefixes)
    if not chosen:
        raise SystemExit(f"no scenario starts with {' or '.join(args.prefixes)}; `python -m labs.lessons list` shows them all")
    author(chosen)


if __name__ == "__main__":
    main()
