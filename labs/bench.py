"""`python -m labs.bench` (`make bench`): how much the workbook's machinery costs, each figure a ratio to a floor
measured in the same run, so machines of different speeds give comparable numbers.

- P1: the notebook suite (nbval over solutions/ and notebooks/ with notebooks/vi/, one notebook at a time) less its
  deliberate pace ÷ its floor: for each notebook it ran, a bare kernel start plus that notebook's import lines. The deliberate
  pace is kept on purpose and reported on its own (`paced_s`): the cells that replay at a recorded pace
  (`with labs.replay_speed(1):` or any speed but 0), timed by nbval itself (its JUnit report), and the
  stalls that play in real seconds outside them, each as long as it really lasted (`stall_s`, from the play log,
  `LABS_PLAY_LOG`), and the client's waits before it retries a recorded failure (`retry_wait_s`: a 429's
  Retry-After, the SDK's backoff after a 500, the lessons' tenacity backoff), as the replay server saw them: from
  the end of the failure to the next request for the same recording. P1 = (suite − paced − stalls − retry waits)
  ÷ floor; `raw_ratio` is suite ÷ floor. What is left is our code.
  The import lines leave out the SDKs that labs imports for the notebook (`labs.openai_client()` imports openai,
  1 s), so `loaded_ratio` divides by a second floor, `loaded_floor_s`: a kernel start that imports every module the
  notebook's kernel had loaded when nbval stopped it (`LABS_MODULES_LOG`); what is left there is work, not imports.
- P2: the real openai SDK reading a 2,000-chunk stream from the loopback replay server at speed 0 ÷ the
  same bytes through an in-memory transport (`httpx2.MockTransport`): the cost of a real socket and server.
  The two are timed in turn, one pair per repeat, so a change of load on the machine hits both alike.
- P3: replay timing at speed 1: the median and p95 of |actual gap − recorded gap| between chunks, and the
  time-to-first-token error, as the SDK sees them.
- P4: the SSE relay, measured by `python -m labs.web.bench` when that module exists ("not available" otherwise).
- P5: rendering a 5,000-token answer in a kernel with `labs.display.LiveMarkdown` ÷ `print(..., flush=True)`
  per token, measured at the client (until the kernel is idle and every message has arrived). The display
  is paced at 50 tokens/s on its own clock, so it redraws as often as it would live; the loop runs flat out.
- P6: the learner's Run All of each solution notebook at speed 1 (`LABS_REPLAY_SPEED=1`, as a learner sees
  it) beside the sum of the recorded durations of the answers it plays, of its stalls and of its retry waits (from the play log):
  the floor of a paced run. Answers played at the same time (lesson 16 sends eight at once) each count, so
  a notebook can finish under its sum.

Each figure is measured `--repeats` times: its headline (the median) comes with `<name>_min` and `<name>_max`,
and `runs`, the number of repeats. A full `make bench` (three repeats) takes about 15 minutes.

Timings depend on the machine and on what else runs on it, so none of this is a test: `make test` does not
run it, and tests/test_bench.py only smoke-runs each measurement with tiny sizes. The output is a table,
then one JSON line (the last line) for machines.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .replay.cassette import Cassette, Interaction, RecordedEvent, RecordedRequest, RecordedResponse, dump_cassette, load_cassette
from .config import FIXTURES_DIR, REPO_ROOT
from .replay.server import PLAY_LOG_ENV
from .replay.sse import SSEEvent, encode_event

MODULES_LOG_ENV = "LABS_MODULES_LOG"  # each nbval kernel logs the modules it loaded there (tests/nbval_support.py)

__all__ = [
    "import_lines",
    "main",
    "p1_notebook_suite",
    "p2_loopback_vs_memory",
    "p3_replay_timing",
    "p4_sse_relay",
    "p5_live_display",
    "p6_run_all_at_speed_one",
    "paced_cells",
    "played",
    "spread",
    "synthetic_stream",
]

TEMPLATE_FIXTURE = "16_latency_and_stop/latency_long_answer"
TIMING_FIXTURE = "16_latency_and_stop/latency_long_answer"
REPLAY_ENV = {"LABS_MODE": "replay", "LABS_REPLAY_SPEED": "0"}
NBVAL = ["--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "--nbval-current-env", "-p", "tests.nbval_support"]


def _seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def spread(name: str, values: Sequence[float]) -> dict[str, float]:
    """`name` (the median of `values`), `name_min` and `name_max`."""
    return {name: statistics.median(values), f"{name}_min": min(values), f"{name}_max": max(values)}


def played(log: Path) -> dict[str, float]:
    """What a play log holds: the recorded seconds of every answer played, those played at a pace (speed > 0), the
    real seconds of the stalls (a stall lasts until the client gives up, if that is sooner than the fixture says),
    and of the clients' waits before they asked again after a recorded failure."""
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()] if log.exists() else []
    plays = [line for line in lines if "recorded_s" in line]
    return {
        "answers": len(plays),
        "recorded_s": sum(p["recorded_s"] for p in plays),
        "paced_recorded_s": sum(p["recorded_s"] / p["speed"] for p in plays if p["speed"] > 0),
        "stall_s": sum(line.get("stall_s", 0.0) for line in lines),
        "unpaced_stall_s": sum(line.get("stall_s", 0.0) for line in lines if line["speed"] <= 0),
        "retry_wait_s": sum(line.get("retry_wait_s", 0.0) for line in lines),
        "unpaced_retry_wait_s": sum(line.get("retry_wait_s", 0.0) for line in lines if line["speed"] <= 0),
    }


def _kernel_options() -> dict[str, Any]:
    """NotebookClient options for a kernel over IPC: over TCP each kernel logs "running over TCP without encryption"."""
    from jupyter_client.manager import AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):  # type: ignore[misc]
        def __init__(self, **kwargs: Any) -> None:
            # An absolute socket path: the kernel runs in the notebook's folder, its client here.
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(tempfile.gettempdir(), f"labs-bench-kernel-{os.getpid()}-{time.monotonic_ns()}"))
            super().__init__(**kwargs)

    return {"kernel_name": "python3", "kernel_manager_class": IpcKernelManager}


# -- P1 --------------------------------------------------------------------------------------------


def import_lines(source: str) -> list[str]:
    """The top-level import statements of a code cell (parenthesised ones whole), as source lines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython syntax (%magic, !shell): let IPython turn it into Python first
        from IPython.core.inputtransformer2 import TransformerManager

        try:
            tree = ast.parse(TransformerManager().transform_cell(source))
        except SyntaxError:
            return []
    return [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]


def _import_floor(notebook: Path, loaded: Sequence[str] = ()) -> float:
    """A fresh kernel that runs only the notebook's import lines, and imports `loaded` (module names) after them,
    timed from start to shutdown."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    imports = [line for cell in nb.cells if cell.cell_type == "code" for line in import_lines(cell.source)]
    names = [name for name in loaded if name != "__main__" and not name.endswith(".__main__")]  # never run a program's main
    if names:  # a module that cannot be imported on its own (a platform's, a test's) costs nothing here
        imports += ["import importlib as _labs_importlib", f"for _labs_name in {names!r}:",
                    "    try:", "        _labs_importlib.import_module(_labs_name)", "    except Exception:", "        pass"]
    floor = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("\n".join(imports) or "pass")])
    client = NotebookClient(floor, timeout=300, allow_errors=True, resources={"metadata": {"path": str(notebook.parent)}}, **_kernel_options())
    started = time.perf_counter()
    client.execute()
    return time.perf_counter() - started


def _loaded_modules(log: Path) -> dict[Path, list[str]]:
    """What each notebook's kernel had loaded when it stopped (tests/nbval_support.py writes the log), by notebook."""
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return {Path(entry["notebook"]).resolve(): entry["modules"] for entry in map(json.loads, filter(str.strip, lines))}


def paced_cells(notebook: Path) -> set[int]:
    """The numbers nbval gives the code cells (`Cell N`, from 0) that replay at a recorded pace: `replay_speed(x)`, x not 0."""
    import nbformat

    paced = set()
    code_cells = [cell for cell in nbformat.read(notebook, as_version=4).cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells):
        try:
            tree = ast.parse(_as_python(cell.source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "replay_speed":
                speed = node.args[0] if node.args else None
                if not (isinstance(speed, ast.Constant) and speed.value == 0):
                    paced.add(number)
    return paced


def _as_python(source: str) -> str:
    """A cell as Python: IPython's syntax turned into calls; a cell magic's body (`%%only_in_replay ...`) kept as code."""
    from IPython.core.inputtransformer2 import TransformerManager

    if source.lstrip().startswith("%%"):
        source = source.lstrip().partition("\n")[2]
    return TransformerManager().transform_cell(source)


def _cell_seconds(junit: Path) -> dict[str, dict[int, float]]:
    """nbval's time for each cell from its JUnit report: the notebook's class name -> cell number -> seconds.

    A class name is the notebook's path from pytest's root directory with dots for slashes ("notebooks.vi.12_x.ipynb"),
    which tells notebooks/12_x.ipynb from notebooks/vi/12_x.ipynb; `_times_of` finds a notebook's by its path.
    """
    times: dict[str, dict[int, float]] = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        name, classname = case.get("name", ""), case.get("classname", "")
        if name.startswith("Cell ") and name[5:].isdigit():
            times.setdefault(classname, {})[int(name[5:])] = float(case.get("time", 0))
    return times


def _times_of(notebook: Path, times: dict[str, dict[int, float]]) -> dict[int, float]:
    """The cell times of `notebook`: the longest class name its path ends with."""
    dotted = ".".join(notebook.resolve().parts[1:])
    names = [name for name in times if dotted == name or dotted.endswith("." + name)]
    return times[max(names, key=len)] if names else {}


def suite_notebooks(folder: Path) -> list[Path]:
    """The notebooks nbval collects in `folder`, its subfolders too (notebooks/vi/), but not hidden ones (checkpoints)."""
    return sorted(path for path in folder.rglob("*.ipynb") if not any(part.startswith(".") for part in path.relative_to(folder).parts))


def p1_notebook_suite(suites: Sequence[tuple[Path, str]] | None = None, repo: Path = REPO_ROOT, repeats: int = 1) -> dict[str, Any]:
    """nbval over each (folder, --nbval or --nbval-lax), less its deliberate pace, ÷ the sum of each notebook's kernel start and imports."""
    if suites is None:
        suites = [(repo / "solutions", "--nbval"), (repo / "notebooks", "--nbval-lax")]
    in_suite = [suite_notebooks(Path(folder)) for folder, _ in suites]
    notebooks = [path for paths in in_suite for path in paths]
    paced = {path: paced_cells(path) for path in notebooks}
    runs: list[dict[str, float]] = []
    failed: list[str] = []
    for _ in range(repeats):
        suite_s = paced_s = 0.0
        with tempfile.TemporaryDirectory() as folder:
            log, modules_log = Path(folder) / "plays.jsonl", Path(folder) / "modules.jsonl"
            env = {**os.environ, **REPLAY_ENV, PLAY_LOG_ENV: str(log), MODULES_LOG_ENV: str(modules_log)}
            for index, (suite, mode) in enumerate(suites):
                junit = Path(folder) / f"suite{index}.xml"
                started = time.perf_counter()
                result = subprocess.run(
                    [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", "-p", "no:xdist", f"--junitxml={junit}", *NBVAL, mode, str(suite)],
                    cwd=repo, env=env, capture_output=True, text=True, check=False,
                )
                suite_s += time.perf_counter() - started
                failed += [line.split()[1] for line in result.stdout.splitlines() if line.startswith("FAILED ")]
                if result.returncode != 0 and not failed:
                    failed.append(f"{Path(suite).name}: pytest exited {result.returncode}")
                times = _cell_seconds(junit) if junit.exists() else {}
                paced_s += sum(_times_of(path, times).get(number, 0.0) for path in in_suite[index] for number in paced[path])
            plays = played(log)
            stall_s, retry_wait_s = plays["unpaced_stall_s"], plays["unpaced_retry_wait_s"]
            loaded = _loaded_modules(modules_log)
        floor_s = sum(_import_floor(path) for path in notebooks)
        loaded_floor_s = sum(_import_floor(path, loaded.get(path.resolve(), ())) for path in notebooks)
        runs.append({"suite_s": suite_s, "paced_s": paced_s, "stall_s": stall_s, "retry_wait_s": retry_wait_s, "floor_s": floor_s, "loaded_floor_s": loaded_floor_s})
    ours = [r["suite_s"] - r["paced_s"] - r["stall_s"] - r["retry_wait_s"] for r in runs]
    figures: dict[str, Any] = {
        **spread("ratio", [left / r["floor_s"] for left, r in zip(ours, runs)]),
        **spread("loaded_ratio", [left / r["loaded_floor_s"] for left, r in zip(ours, runs)]),
        **spread("raw_ratio", [r["suite_s"] / r["floor_s"] for r in runs]),
        **{key: statistics.median(r[key] for r in runs) for key in ("suite_s", "paced_s", "stall_s", "retry_wait_s", "floor_s", "loaded_floor_s")},
        "paced_cells": sum(len(numbers) for numbers in paced.values()),
        "notebooks": len(notebooks),
        "suite_failed": len(failed),
        "runs": repeats,
    }
    if failed:  # the time still counts; say which cells failed, as the suite would
        figures["failed"] = [Path(name.split("::")[0]).name + "::" + name.split("::")[-1] for name in failed[:5]]
    return figures


# -- P2 --------------------------------------------------------------------------------------------


def synthetic_stream(chunks: int, template: str = TEMPLATE_FIXTURE) -> Interaction:
    """A recorded request whose stream has `chunks` text chunks, each a copy of a recorded chunk, plus role, finish and [DONE]."""
    recorded = load_cassette(FIXTURES_DIR / f"{template}.yaml").interactions[0]
    events = [e for e in recorded.response.events or [] if isinstance(e.json(), dict)]
    role, text, finish = events[0], events[1], next(e for e in events if e.json()["choices"] and e.json()["choices"][0]["finish_reason"])
    body = json.loads(text.data)
    out = [RecordedEvent(t=0.0, data=role.data)]
    for n in range(chunks):
        body["choices"][0]["delta"]["content"] = f" word{n}"
        out.append(RecordedEvent(t=0.0, data=json.dumps(body, separators=(",", ":"))))
    out += [RecordedEvent(t=0.0, data=finish.data), RecordedEvent(t=0.0, data="[DONE]")]
    request = RecordedRequest("POST", "/chat/completions", {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": f"bench {chunks} chunks"}]})
    return Interaction(request, RecordedResponse(content_type="text/event-stream", events=out))


def p2_loopback_vs_memory(chunks: int = 2000, repeats: int = 5) -> dict[str, Any]:
    """The SDK consuming the same stream from the loopback replay server (speed 0) and from memory, in turn, `repeats` times."""
    import httpx2
    import openai

    from .clients import openai_client
    from .replay import ReplayServer

    interaction = synthetic_stream(chunks)
    payload = [encode_event(SSEEvent(data=e.data)) for e in interaction.response.events or []]

    def consume(client: openai.OpenAI) -> None:
        count = sum(1 for _ in client.chat.completions.create(**interaction.request.body))
        assert count == chunks + 2, count

    def in_memory(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=iter(payload))

    memory = openai.OpenAI(base_url="http://in-memory.invalid/v1", api_key="x", max_retries=0, http_client=httpx2.Client(transport=httpx2.MockTransport(in_memory)))
    with tempfile.TemporaryDirectory() as folder:
        dump_cassette(Cassette("bench", "openai", f"{chunks} chunks for labs.bench P2", [interaction]), Path(folder) / "bench" / "stream.yaml")
        with ReplayServer(fixture_dirs=(Path(folder),), speed=0) as server:
            loopback = openai_client(server=server, max_retries=0)
            consume(loopback)  # warm up: connection, imports, model classes
            consume(memory)
            pairs = [(_seconds(lambda: consume(loopback)), _seconds(lambda: consume(memory))) for _ in range(repeats)]
    return {
        **spread("ratio", [loopback / memory for loopback, memory in pairs]),
        "loopback_s": statistics.median(loopback for loopback, _ in pairs),
        "memory_s": statistics.median(memory for _, memory in pairs),
        "chunks": chunks,
        "runs": repeats,
    }


# -- P3 --------------------------------------------------------------------------------------------


def p3_replay_timing(fixture: str = TIMING_FIXTURE, runs: int = 3) -> dict[str, Any]:
    """|actual − recorded| for every gap between chunks and for the first text, over `runs` plays at speed 1."""
    from .clients import openai_client
    from .metrics import percentile
    from .replay import ReplayServer

    cassette = load_cassette(FIXTURES_DIR / f"{fixture}.yaml")
    interaction = cassette.interactions[0]
    recorded = [(e.t, e.json()) for e in interaction.response.events or [] if isinstance(e.json(), dict)]
    recorded_first_text = next(t for t, data in recorded if data["choices"] and data["choices"][0]["delta"].get("content"))
    gap_errors: list[float] = []
    ttft_errors: list[float] = []
    run_p95: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        dump_cassette(copy.deepcopy(cassette), Path(folder) / "timing" / "fixture.yaml")
        with ReplayServer(fixture_dirs=(Path(folder),), speed=1) as server:
            client = openai_client(server=server, max_retries=0)
            for _ in range(runs + 1):
                started = time.perf_counter()
                arrivals, first_text = [], None
                for chunk in client.chat.completions.create(**interaction.request.body):
                    now = time.perf_counter() - started
                    arrivals.append(now)
                    if first_text is None and chunk.choices and chunk.choices[0].delta.content:
                        first_text = now
                if _ == 0:
                    continue  # the first play warms up the connection and the SDK's classes
                assert len(arrivals) == len(recorded), (len(arrivals), len(recorded))
                actual_gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
                recorded_gaps = [b[0] - a[0] for a, b in zip(recorded, recorded[1:])]
                errors = [abs(a - r) for a, r in zip(actual_gaps, recorded_gaps)]
                gap_errors += errors
                run_p95.append(1000 * (percentile(errors, 95) or 0.0))
                ttft_errors.append(abs((first_text or 0.0) - recorded_first_text))
    return {
        "gap_error_p50_ms": 1000 * (percentile(gap_errors, 50) or 0.0),
        **spread("gap_error_p95_ms", run_p95),
        **spread("ttft_error_ms", [1000 * e for e in ttft_errors]),
        "gaps": len(gap_errors),
        "runs": runs,
    }


# -- P4 --------------------------------------------------------------------------------------------


def p4_sse_relay(module: str = "labs.web.bench", args: Sequence[str] = ()) -> dict[str, Any] | None:
    """The SSE relay's own benchmark, run as `python -m <module> [args]`; None when the module does not exist."""
    try:
        found = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        found = None
    if found is None:
        return None
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, env={**os.environ, **REPLAY_ENV}, capture_output=True, text=True, check=False)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    try:
        figures = json.loads(lines[-1]) if lines else None
    except ValueError:
        figures = None
    if result.returncode != 0 or not isinstance(figures, dict):
        return {"error": f"python -m {module} exited {result.returncode}: {(result.stderr or result.stdout).strip()[-300:]}"}
    return figures.get("P4", figures) if isinstance(figures.get("P4", figures), dict) else {"value": figures.get("P4")}


# -- P5 --------------------------------------------------------------------------------------------

_CELLS = {
    "print": "for piece in PIECES:\n    print(piece, end='', flush=True)",
    # The answer arrives at PACE tokens a second on LiveMarkdown's clock, so it redraws as often as it would
    # live; the loop itself runs flat out, so the cell's time is the rendering work alone.
    "display": (
        "now = [0.0]\n"
        "with LiveMarkdown(clock=lambda: now[0]) as view:\n"
        "    for index, piece in enumerate(PIECES):\n"
        "        now[0] = index / PACE\n"
        "        view.append(piece)\n"
        "REDRAWS, SENT = view.updates, view.sent_chars"
    ),
    "burst": "with LiveMarkdown() as view:\n    for piece in PIECES:\n        view.append(piece)",
}


def p5_live_display(tokens: int = 5000, repeats: int = 3, pace: float = 50.0) -> dict[str, Any]:
    """A kernel renders the same `tokens` pieces with print and with LiveMarkdown; each cell timed at the client.

    `display` paces the answer at `pace` tokens a second on the display's clock (its redraws are those of a
    live answer); `burst` hands it all the tokens at once (two redraws). The ratio is display ÷ print.
    """
    import nbformat
    from nbclient import NotebookClient

    from .lessons.refresh import stream_text
    from .replay.standins import tokens as split

    answer = load_cassette(FIXTURES_DIR / f"{TEMPLATE_FIXTURE}.yaml")
    text = "".join(e.json()["choices"][0]["delta"].get("content") or "" for e in answer.interactions[0].response.events or [] if isinstance(e.json(), dict) and e.json()["choices"])
    pieces = (split(text + "\n\n") * (tokens // len(split(text)) + 1))[:tokens]
    setup = f"import json\nfrom labs.display import LiveMarkdown\nPACE = {pace!r}\nPIECES = json.loads({json.dumps(json.dumps(pieces))})"
    cells = [nbformat.v4.new_code_cell(setup)] + [nbformat.v4.new_code_cell(src) for _ in range(repeats) for src in _CELLS.values()]
    cells.append(nbformat.v4.new_code_cell("print(REDRAWS, SENT)"))
    nb = nbformat.v4.new_notebook(cells=cells)
    client = NotebookClient(nb, timeout=600, **_kernel_options())
    kinds = {source: kind for kind, source in _CELLS.items()}
    timings: dict[str, list[float]] = {kind: [] for kind in _CELLS}
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            started = time.perf_counter()
            client.execute_cell(cell, index)
            if cell.source in kinds:
                timings[kinds[cell.source]].append(time.perf_counter() - started)
    redraws, sent = (int(n) for n in stream_text(nb.cells[-1]).split())
    print_s, display_s, burst_s = (statistics.median(timings[kind]) for kind in ("print", "display", "burst"))
    return {
        **spread("ratio", [display / printed for display, printed in zip(timings["display"], timings["print"])]),
        "display_s": display_s,
        "print_s": print_s,
        "burst_ratio": burst_s / print_s,
        "redraws": redraws,
        "sent_chars": sent,
        "tokens": tokens,
        "pace_tokens_per_s": pace,
    }


# -- P6 --------------------------------------------------------------------------------------------


def p6_run_all_at_speed_one(notebooks: Sequence[Path] | None = None, repeats: int = 1) -> dict[str, Any]:
    """Each notebook run top to bottom in a fresh kernel at speed 1, beside the recorded seconds it plays (its floor)."""
    import nbformat
    from nbclient import NotebookClient

    paths = list(notebooks) if notebooks is not None else sorted((REPO_ROOT / "solutions").glob("*.ipynb"))
    rows: dict[str, dict[str, Any]] = {}
    for path in paths:
        times, floors, errors = [], [], 0
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as folder:
                log = Path(folder) / "plays.jsonl"
                nb = nbformat.read(path, as_version=4)
                client = NotebookClient(nb, timeout=600, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}, **_kernel_options())
                env = {**os.environ, "LABS_MODE": "replay", "LABS_REPLAY_SPEED": "1", PLAY_LOG_ENV: str(log)}
                times.append(_seconds(lambda: client.execute(env=env)))
                plays = played(log)
                floors.append(plays["recorded_s"] + plays["stall_s"] + plays["retry_wait_s"])
                errors = max(errors, sum(1 for cell in nb.cells if any(o.get("output_type") == "error" for o in cell.get("outputs", []))))
        rows[path.stem] = {**spread("run_all_s", times), "recorded_s": statistics.median(floors), "cells_failed": errors}
    total_s = sum(row["run_all_s"] for row in rows.values())
    recorded_s = sum(row["recorded_s"] for row in rows.values())
    return {"ratio": total_s / recorded_s if recorded_s else None, "run_all_s": total_s, "recorded_s": recorded_s, "notebooks": rows, "runs": repeats}


# -- the command -----------------------------------------------------------------------------------

MEASUREMENTS = ("P1", "P2", "P3", "P4", "P5", "P6")
HEADLINES = {"P1": "ratio", "P2": "ratio", "P3": "gap_error_p95_ms", "P4": "duration_ratio", "P5": "ratio", "P6": "ratio"}
QUICK_RELAY = ("--streams", "4", "--latency-streams", "2", "--speed", "0")  # labs.web.bench's own options


def run(selected: Sequence[str] = MEASUREMENTS, quick: bool = False, repeats: int = 3) -> dict[str, Any]:
    """Each selected figure, measured `repeats` times; `quick` uses tiny sizes (a smoke run, not a measurement)."""
    figures: dict[str, Any] = {}
    for name in selected:
        if name == "P1":
            if quick:
                with tempfile.TemporaryDirectory() as folder:
                    figures[name] = p1_notebook_suite([(_tiny_notebooks(Path(folder)), "--nbval-lax")])
            else:
                figures[name] = p1_notebook_suite(repeats=repeats)
        elif name == "P2":
            figures[name] = p2_loopback_vs_memory(50, 2) if quick else p2_loopback_vs_memory(repeats=max(5, repeats))
        elif name == "P3":
            figures[name] = p3_replay_timing("16_latency_and_stop/latency_short_answer", 1) if quick else p3_replay_timing(runs=repeats)
        elif name == "P4":
            figures[name] = p4_sse_relay(args=QUICK_RELAY if quick else ()) or "not available"
        elif name == "P5":
            figures[name] = p5_live_display(50, 1) if quick else p5_live_display(repeats=repeats)
        elif name == "P6":
            if quick:
                with tempfile.TemporaryDirectory() as folder:
                    figures[name] = p6_run_all_at_speed_one(sorted(_tiny_notebooks(Path(folder)).glob("*.ipynb")))
            else:
                figures[name] = p6_run_all_at_speed_one(repeats=1 if repeats < 3 else 2)
    return figures


def _tiny_notebooks(folder: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import json\nprint(json.dumps([1]))")])
    nbformat.write(nb, folder / "tiny.ipynb")
    return folder


def _rows(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    def number(value: Any) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    titles = {
        "P1": "notebook suite ÷ kernel start + imports",
        "P2": "SDK over loopback replay ÷ in-memory transport",
        "P3": "replay timing error at speed 1, p95 gap error (ms)",
        "P4": "SSE relay, stream duration relay ÷ direct (labs.web.bench)",
        "P5": "LiveMarkdown ÷ print, 5,000 tokens",
        "P6": "Run All at speed 1 ÷ recorded seconds played",
    }
    rows = []
    for name, value in figures.items():
        if isinstance(value, dict):
            key = HEADLINES.get(name, "ratio")
            headline = number(value.get(key, value.get("error", "")))
            details = ", ".join(f"{k}={number(v)}" for k, v in value.items() if k != key and not isinstance(v, dict))
        else:
            headline, details = str(value), ""
        rows.append((f"{name} {titles.get(name, '')}", headline, details))
        for stem, row in (value.get("notebooks") if isinstance(value, dict) and isinstance(value.get("notebooks"), dict) else {}).items():
            # P6: one row per notebook, its Run All time beside the recorded seconds it plays
            rows.append((f"  {stem}", f"{number(row['run_all_s'])} s", ", ".join(f"{k}={number(v)}" for k, v in row.items() if k != "run_all_s")))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("only", nargs="*", metavar="P1..P6", help="figures to measure (default: all)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that every measurement runs, in seconds")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each figure, for its min/median/max (default 3; P2 takes at least 5)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.only if name not in MEASUREMENTS]
    if unknown:
        parser.error(f"unknown figure {', '.join(unknown)}: choose from {', '.join(MEASUREMENTS)}")
    os.environ.update(REPLAY_ENV)  # the kernels and servers started below replay offline at full speed
    if args.repeats < 1:
        parser.error("--repeats must be 1 or more")
    figures = run(args.only or MEASUREMENTS, quick=args.quick, repeats=args.repeats)
    from rich.console import Console
    from rich.table import Table

    table = Table(title="labs.bench" + (" (quick: tiny sizes, not a measurement)" if args.quick else ""))
    for column in ("figure", "value", "details"):
        table.add_column(column)
    for row in _rows(figures):
        table.add_row(*row)
    Console().print(table)
    print(json.dumps(figures, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
