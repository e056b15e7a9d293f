"""JupyterLab started as `make lab` starts it, in a copy of the workbook, for the tests that drive a real one."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from labs.config import REPO_ROOT

COPIED = ["Makefile", "README.md", "requirements.txt", "pyproject.toml", ".env.example", "notebooks", "solutions", "jupyter-config"]
URL = re.compile(r"(http://127\.0\.0\.1:\d+/\S*lab/\S*\?token=\w+)")


def copy_workbook(into: Path) -> None:
    for name in COPIED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, copy_function=shutil.copy2)
        else:
            shutil.copy2(source, into / name)
    (into / ".venv").symlink_to(REPO_ROOT / ".venv")  # same mtimes: make sees the environment as set up


@dataclass
class RunningLab:
    url: str  # the URL `make lab` printed, token included
    printed: list[str] = field(default_factory=list)  # everything make and the server printed so far

    @property
    def log(self) -> str:
        return "".join(self.printed)


def _answering(url: str, process: subprocess.Popen[str], lab: RunningLab, within: float = 60) -> None:
    """Wait until the server behind `url` answers its API: it prints the URL before it listens on the port."""
    base, token = url.split("lab/", 1)[0], url.split("?token=", 1)[1]
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(f"{base}api/status", headers={"Authorization": f"token {token}"}, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, f"JupyterLab ended ({process.returncode}) before it answered:\n{lab.log}"
        assert time.monotonic() < deadline, f"JupyterLab did not answer {base}api/status within {within:.0f} s:\n{lab.log}"
        time.sleep(0.1)


@contextmanager
def started_lab(root: Path, environment: dict[str, str], flags: str) -> Iterator[RunningLab]:
    """`make lab LAB_FLAGS=...` in `root`, once its server answers; ended (make and the server) on leaving."""
    process = subprocess.Popen(
        # -o: the copy shares this checkout's environment; never re-run its set-up from the copy
        ["make", "-s", "-o", ".venv/.installed", "lab", f"LAB_FLAGS={flags}"],
        cwd=root, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    lab = RunningLab(url="")
    reader: threading.Thread | None = None
    try:
        deadline = time.monotonic() + 90
        while not lab.url and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lab.printed.append(line)
            found = URL.search(line)
            lab.url = found.group(1) if found else ""
        assert lab.url, "make lab printed no URL:\n" + lab.log
        # Keep reading what the server logs, so a full pipe never blocks it.
        reader = threading.Thread(target=lambda: lab.printed.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
        reader.start()
        _answering(lab.url, process, lab)
        yield lab
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # make and the JupyterLab it started
        process.wait(timeout=30)
        if reader is not None:
            reader.join(timeout=10)
