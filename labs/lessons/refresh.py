"""The instructor's refresh loop: record a lesson against the service, replace its fixtures, store new outputs.

`python -m labs.lessons refresh 03` (`make refresh LESSON=03`) does, for `solutions/03_*.ipynb`:

1. run the solution top to bottom with `LABS_MODE=record`, so every request the lesson makes goes through the
   replay server to the service named in `.env` and is recorded into a scratch folder;
2. match each recorded request to the lesson's fixture that answers it in replay (the replay server's own
   matching), and rewrite each fixture whose every request was recorded again, keeping its name and comment;
   a request no fixture answered becomes a new fixture in the lesson's folder; faults and fixtures the lesson
   never requested (the checkers' own) stay as they are;
3. run the solution again in replay and store its outputs, streams coalesced (a small, reviewable diff);
4. regenerate the learner copies.

Record with the models the fixtures name (`gpt-4o-mini`; for Azure, a deployment of that name in
`MODEL_DEPLOYMENT_NAME`): replay sends those names, so a recording under another name would never be found.
It works on a checkout (`root`): the kernels import `labs` from there, so a test can refresh a copy.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from ..config import REPO_ROOT
from ..replay.cassette import Cassette, Interaction, dump_cassette, load_cassettes
from ..replay.matching import MatchingLibrary, ReplayMiss, normalise_body, normalise_path
from ..replay.surfaces import surface

__all__ = ["RefreshReport", "refresh", "run_notebook", "solution_path", "store_outputs"]

_REFRESHED = " (Re-recorded from the live service on "


@dataclass
class RefreshReport:
    """What one refresh changed, for the instructor to review before committing."""

    notebook: Path
    refreshed: list[str] = field(default_factory=list)  # fixtures rewritten from the new recording
    kept: list[str] = field(default_factory=list)  # fixtures the lesson requested only in part: left as they were
    added: list[str] = field(default_factory=list)  # recordings no fixture answered, written as new fixtures

    def __str__(self) -> str:
        lines = [f"{self.notebook.name}: {len(self.refreshed)} fixtures re-recorded, {len(self.added)} added, {len(self.kept)} kept"]
        lines += [f"  re-recorded {name}" for name in self.refreshed]
        lines += [f"  added       {name}" for name in self.added]
        lines += [f"  kept        {name} (only part of it was requested)" for name in self.kept]
        return "\n".join(lines)


def run_notebook(
    path: Path, root: Path, mode: str, extra: dict[str, str] | None = None, timeout: int = 600, notebook: NotebookNode | None = None
) -> NotebookNode:
    """Execute a notebook (the one at `path`, or `notebook` as if it were there) in its folder, in a fresh kernel that imports `labs` from `root`."""
    import nbclient
    from jupyter_client.manager import KernelManager

    notebook = notebook or nbformat.read(path, as_version=4)
    python_path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    kernel_environment = {**os.environ, "LABS_MODE": mode, "PYTHONPATH": python_path, **(extra or {})}
    with tempfile.TemporaryDirectory(prefix="labs-kernel-") as sockets:
        # Over Unix sockets, as JupyterLab's kernels are (jupyter-config/): no "running over TCP" warning per kernel.
        kernel = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel"))
        client = nbclient.NotebookClient(
            notebook, km=kernel, timeout=timeout, record_timing=False, resources={"metadata": {"path": str(path.parent)}}
        )
        try:
            client.execute(env=kernel_environment)
        finally:
            if kernel.has_kernel:  # nbclient shuts down only the kernels it created itself
                kernel.shutdown_kernel(now=True)
    return notebook


def stream_text(cell: NotebookNode, name: str = "stdout") -> str:
    """All that `cell` wrote to `name`: the kernel flushes a stream on a timer, so one print can reach the notebook
    as several outputs (under load, ``print(a, b)`` as ``"a"`` and ``" b\\n"``)."""
    return "".join(output.text for output in cell.outputs if output.output_type == "stream" and output.name == name)


def _coalesce(notebook: NotebookNode) -> None:
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        merged: list[NotebookNode] = []
        for output in cell.outputs:
            if output.output_type == "stream" and merged and merged[-1].output_type == "stream" and merged[-1].name == output.name:
                merged[-1].text += output.text
            else:
                merged.append(output)
        cell.outputs = merged


def store_outputs(lesson: str, root: Path = REPO_ROOT) -> Path:
    """Run lesson `lesson`'s solution in replay and store its outputs, streams coalesced (`make outputs LESSON=NN`)."""
    path = solution_path(root, lesson)
    executed = run_notebook(path, root, "replay", {"LABS_REPLAY_SPEED": "0"})
    _coalesce(executed)
    nbformat.write(executed, path)
    return path


def solution_path(root: Path, lesson: str) -> Path:
    """`solutions/NN_*.ipynb` below `root` for lesson "NN"; a clear exit when there is none."""
    if not lesson.isdigit():
        raise SystemExit(f"name a lesson by its number, e.g. 02, not {lesson!r}")
    found = sorted((root / "solutions").glob(f"{int(lesson):02d}_*.ipynb"))
    if not found:
        raise SystemExit(f"no solution notebook solutions/{int(lesson):02d}_*.ipynb")
    return found[0]


def _key(cassette: Cassette, interaction: Interaction) -> str:
    on = surface(cassette.surface)
    request = interaction.request
    return repr((request.method, normalise_path(request.path, on), normalise_body(request.body, on)))


def _replace(fixtures: list[Cassette], recorded: list[Cassette], report: RefreshReport, folder: Path) -> None:
    """Give each fixture the recorded interactions replay matched to it, in the order they were made."""
    library = MatchingLibrary(fixtures, [str(folder)])
    new: dict[str, list[Interaction]] = defaultdict(list)
    unmatched: list[Cassette] = []
    for cassette in recorded:
        strays = []
        for interaction in cassette.interactions:
            request = interaction.request
            try:
                match = library.find(cassette.surface, request.method, request.path, request.body)
            except ReplayMiss:
                strays.append(interaction)
                continue
            new[match.cassette.name].append(interaction)
        if strays:
            unmatched.append(Cassette(name=cassette.name, surface=cassette.surface, comment=cassette.comment, interactions=strays))
    today = date.today().isoformat()
    for fixture in fixtures:
        replaced = new.get(fixture.name)
        if not replaced:
            continue
        # A polled run may be asked after more or fewer times than recorded; every distinct request must be there.
        if {_key(fixture, i) for i in fixture.interactions} != {_key(fixture, i) for i in replaced}:
            report.kept.append(fixture.name)
            continue
        fixture.interactions = replaced
        fixture.comment = fixture.comment.split(_REFRESHED)[0] + f"{_REFRESHED}{today}.)"
        assert fixture.path is not None
        dump_cassette(fixture, fixture.path)
        report.refreshed.append(fixture.name)
    for cassette in unmatched:
        name = cassette.name.rsplit("/", 1)[-1]
        cassette.comment = f"Recorded {today} by `python -m labs.lessons refresh`: no fixture answered these requests. Say what is special here."
        dump_cassette(cassette, folder / f"{name}.yaml")
        report.added.append(f"{folder.name}/{name}")


def refresh(lesson: str, root: Path = REPO_ROOT) -> RefreshReport:
    """Record lesson `lesson` (e.g. "03") against the service in the environment; replace its fixtures and outputs."""
    from ..workbook import build

    path = solution_path(root, lesson)
    folder = root / "labs" / "fixtures" / path.stem
    report = RefreshReport(path)
    with tempfile.TemporaryDirectory(prefix="labs-refresh-") as scratch:
        run_notebook(path, root, "record", {"LABS_RECORD_DIR": scratch, "LABS_REPLAY_SPEED": "0"})
        recorded = load_cassettes([Path(scratch)])
    fixtures = [c for c in load_cassettes([folder.parent]) if c.name.startswith(f"{path.stem}/")]
    for cassette in fixtures:  # names below the lesson folder, as the recorder's fixtures are named
        cassette.name = cassette.name.split("/", 1)[1]
    _replace(fixtures, recorded, report, folder)
    store_outputs(lesson, root)
    build(root / "solutions", root / "notebooks")
    return report
