"""`python -m labs.lessons`: the lessons' scenarios, re-authoring their fixtures, storing outputs, testing one lesson."""

from __future__ import annotations

import argparse
import sys

from . import all_scenarios, author, lesson_tests, select

EPILOG = """\
Scenario names are fixture names: `<lesson folder>/<scenario>`, the path below labs/fixtures without .yaml,
e.g. 02_collect_while_streaming/refusal (`list` prints them all). A PREFIX selects every scenario whose name
starts with it: `02_` is lesson 02, `02_collect_while_streaming/` the same, a full name one scenario,
`sdk_` the SDK smoke scenarios of the unit tests.

A scenario without `run` is authored from its lesson's notebook: `fixtures NN` runs the solution in record
mode against the scripted stand-ins, so each prompt is written once, in its cell (lessons 00 to 13; a
tool round, an agent run of several responses, a Semantic Kernel call are keyed request by request; an Azure
AI Agents conversation, from its POST /assistants on, is one scenario, keyed model turn by model turn). A
scenario with `run` records its own SDK calls, where the notebook cannot make them (a recording it only
replays through a checker, another server's wire form); `list` and `fixtures` with no lesson say which is which.

  make fixtures LESSON=02     = python -m labs.lessons fixtures 02
  make outputs LESSON=02      = python -m labs.lessons outputs 02
  make test-lesson LESSON=02  = the files of `python -m labs.lessons tests 02`, then nbval of the lesson
  make refresh LESSON=02      = python -m labs.lessons refresh 02 (the live service in .env)
"""


def _plan() -> str:
    """What `fixtures NN` would re-author, lesson by lesson."""
    by_lesson: dict[str, list[str]] = {}
    for scenario in all_scenarios():
        how = "from its notebook" if scenario.run is None else "by a run in its scenarios.py"
        by_lesson.setdefault(scenario.lesson or scenario.name.split("/")[0], []).append(how)
    lines = ["Nothing recorded. `fixtures NN` would re-author, for lesson NN (`list` names each fixture):"]
    for lesson, hows in by_lesson.items():
        counted = [f"{hows.count(how)} {how}" for how in ("from its notebook", "by a run in its scenarios.py") if how in hows]
        lines.append(f"  {lesson}: {len(hows)} fixture{'s' if len(hows) > 1 else ''}, " + " and ".join(counted))
    lines.append("Name a lesson: `python -m labs.lessons fixtures 02` (make fixtures LESSON=02); `--help` says more.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m labs.lessons", description="The lessons' recorded scenarios and the instructor's commands.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("list", help="list every scenario: its fixture name, surface and comment")
    record = commands.add_parser("record", help="re-record the scenarios whose names start with a prefix")
    record.add_argument("prefixes", nargs="*", metavar="PREFIX", help="e.g. 03_ (a lesson) or 02_collect_while_streaming/refusal")
    for name, summary in (
        ("fixtures", "re-author one lesson's fixtures against the scripted stand-ins (make fixtures LESSON=NN)"),
        ("outputs", "run one solution in replay and store its outputs, streams coalesced (make outputs LESSON=NN)"),
        ("tests", "print the unit-test files of one lesson: tests/test_lesson_NN*.py, tests/test_lessons_AA_BB*.py"),
        ("refresh", "record a lesson against the service in .env, replace its fixtures and outputs (make refresh LESSON=NN)"),
    ):
        command = commands.add_parser(name, help=summary)
        command.add_argument("lesson", nargs="?", default="", help="the lesson number, e.g. 02")
    args = parser.parse_args(argv)
    if args.command is None or (args.command in ("fixtures", "outputs", "tests", "refresh") and not args.lesson) or (args.command == "record" and not args.prefixes):
        print(_plan(), file=sys.stderr)
        return 2
    if args.command == "list":
        for scenario in all_scenarios():
            print(f"{scenario.name}  [{scenario.surface}]  {scenario.comment.splitlines()[0] if scenario.comment else ''}")
        return 0
    if args.command == "refresh":
        from .refresh import refresh

        print(refresh(args.lesson))
        return 0
    if args.command == "outputs":
        from ..config import display_path
        from .refresh import store_outputs

        print(f"stored the outputs of {display_path(store_outputs(args.lesson))}")
        return 0
    if args.command == "tests":
        found = lesson_tests(args.lesson)
        if not found:
            print(f"lesson {args.lesson} has no unit-test file: name one tests/test_lesson_{args.lesson}_<topic>.py", file=sys.stderr)
            return 1
        print(" ".join(found))
        return 0
    prefixes = args.prefixes if args.command == "record" else [f"{int(args.lesson):02d}_"]
    chosen = select(prefixes)
    if not chosen:
        print(f"no scenario starts with {' or '.join(prefixes)}; `python -m labs.lessons list` shows them all", file=sys.stderr)
        return 1
    from .from_notebook import AuthoringError

    try:
        author(chosen)
    except AuthoringError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
