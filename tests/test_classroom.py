"""The workbook as a class meets it: behind a Jupyter server that is not on the learner's machine.

Lesson 13's page must load through jupyter-server-proxy (`<base URL>proxy/PORT/...`), never from the app's
own port, and stream there as it does locally. JupyterLab is started as `make lab` starts it, with a
JupyterHub-like base URL; the lesson's page cell runs in a kernel of that server (over the kernel API, as
JupyterLab runs it); Chromium shows the cell's output in a page of the Jupyter server's origin, as JupyterLab
does, and asks a question there. The Codespaces and Binder configurations must run the set-up `make setup`
runs, which the last tests check.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import websocket

import labs.web.proxy
from labs.config import REPO_ROOT
from labs.lessons.lesson_12.scenarios import ANSWERS, PROMPTS
from lab_support import copy_workbook, started_lab
from test_web_browser import CHROMIUM_FLAGS, chromium_path

BASE_URL = "/user/learner/"
LESSON_09 = REPO_ROOT / "solutions" / "13_sse_route_and_page.ipynb"
PAGE_CELL, SETUP_CELL = "l13-08", "l13-02"  # the frame, and the cell that imports what the lesson uses
KEY = "chat_pack_list"  # an answer that takes seconds at the recorded pace


# -- the choice: through the proxy under a Jupyter server, directly elsewhere -----------------------------------


@pytest.fixture
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    return tmp_path


def _write_server_file(runtime_dir: Path, pid: int, base_url: str) -> None:
    info = {"base_url": base_url, "url": f"http://127.0.0.1:8888{base_url}", "pid": pid, "port": 8888, "token": "t"}
    (runtime_dir / f"jpserver-{pid}.json").write_text(json.dumps(info), encoding="utf-8")


def test_the_frame_goes_through_the_jupyter_server_that_started_the_kernel(runtime_dir: Path) -> None:
    _write_server_file(runtime_dir, 4242, BASE_URL)
    _write_server_file(runtime_dir, 4343, "/user/someone-else/")
    with labs.web.proxy.serve() as page:
        src = labs.web.proxy.page_url(page, {"JPY_PARENT_PID": "4242"})
        assert src == f"/user/learner/proxy/{page.port}{page.path}"
        assert re.fullmatch(r"/[\w-]{16,}/", page.path)  # a secret path: only who was shown the frame knows it


@pytest.mark.parametrize("environ", [{}, {"JPY_PARENT_PID": "999999"}, {"JPY_PARENT_PID": "nonsense"}], ids=["no-parent", "no-server-file", "bad-pid"])
def test_without_a_jupyter_server_the_frame_points_at_the_app(runtime_dir: Path, environ: dict[str, str]) -> None:
    _write_server_file(runtime_dir, 4242, BASE_URL)
    with labs.web.proxy.serve() as page:
        assert labs.web.proxy.page_url(page, environ) == page.url


def test_an_app_served_without_the_secret_path_is_never_proxied(runtime_dir: Path) -> None:
    _write_server_file(runtime_dir, 4242, BASE_URL)
    with labs.web.serve() as app:  # the guard would refuse the proxy's Host: the frame must not send the browser there
        assert labs.web.proxy.page_url(app, {"JPY_PARENT_PID": "4242"}) == app.url


# -- what the app lets through under the secret path ------------------------------------------------------------


@pytest.fixture(scope="module")
def page_server() -> Iterator[labs.web.proxy.PageServer]:
    with labs.web.proxy.serve() as page:
        yield page


def test_the_page_and_its_api_answer_the_proxys_host_under_the_secret_path(page_server: labs.web.proxy.PageServer) -> None:
    forwarded = {"Host": "hub.example.org", "Sec-Fetch-Site": "same-origin"}
    with httpx.Client(base_url=page_server.url, timeout=10) as client:
        page = client.get(page_server.path, headers=forwarded)
        assert page.status_code == 200 and "<title>Streaming chat</title>" in page.text
        assert client.get(f"{page_server.path}static/app.js", headers=forwarded).status_code == 200
        own_origin = client.get(f"{page_server.path}chat/prompts", headers={**forwarded, "Origin": "https://hub.example.org"})
        assert own_origin.status_code == 200 and PROMPTS[KEY] in own_origin.json()["prompts"]


@pytest.mark.parametrize(
    ("path", "headers", "refused"),
    [
        ("/", {"Host": "hub.example.org"}, "host"),  # DNS rebinding: without the secret, the guard as before
        ("/chat/prompts", {"Host": "hub.example.org"}, "host"),
        ("{secret}chat/prompts", {"Host": "hub.example.org", "Origin": "https://evil.example"}, "origin"),
        ("{secret}chat/prompts", {"Host": "hub.example.org", "Sec-Fetch-Site": "cross-site"}, "sec-fetch-site"),
        ("/not-the-secret/chat/prompts", {"Host": "hub.example.org"}, "host"),
    ],
)
def test_everything_else_meets_the_guard(page_server: labs.web.proxy.PageServer, path: str, headers: dict[str, str], refused: str) -> None:
    response = httpx.get(page_server.url + path.format(secret=page_server.path), headers=headers, timeout=10)
    assert response.status_code == 403
    assert response.json()["detail"][0]["loc"][-1] == refused


# -- lesson 13 behind JupyterLab with a base URL, in Chromium ---------------------------------------------------


@dataclass
class Jupyter:
    origin: str  # http://127.0.0.1:PORT
    token: str

    def api(self, path: str) -> str:
        return f"{self.origin}{BASE_URL}api/{path}"


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    root, state = tmp_path_factory.mktemp("classroom"), tmp_path_factory.mktemp("classroom-state")
    copy_workbook(root)
    environment = {
        **os.environ, "LABS_MODE": "replay", "LABS_REPLAY_SPEED": "1",
        "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"), "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
        # Kernels talk over Unix sockets named after their connection file in this folder, and a socket's path
        # may hold at most 107 bytes: a pytest folder under xdist is too deep for it (the kernel never starts).
        "JUPYTER_RUNTIME_DIR": tempfile.mkdtemp(prefix="jr-"),
    }  # fmt: skip
    environment.pop("JPY_PARENT_PID", None)
    try:
        with started_lab(root, environment, f"--no-browser --allow-root --ServerApp.port=0 --ServerApp.base_url={BASE_URL}") as running:
            assert running.url.startswith("http://127.0.0.1:") and BASE_URL + "lab/" in running.url, running.url
            yield Jupyter(running.url.split(BASE_URL, 1)[0], running.url.split("?token=", 1)[1])
    finally:
        shutil.rmtree(environment["JUPYTER_RUNTIME_DIR"], ignore_errors=True)


def _cell(cell_id: str) -> str:
    cells = json.loads(LESSON_09.read_text(encoding="utf-8"))["cells"]
    return "".join(next(c["source"] for c in cells if c["id"] == cell_id))


def _execute(channel: websocket.WebSocket, code: str) -> list[dict[str, Any]]:
    """Run `code` in the kernel; its iopub messages up to idle (a failing cell fails the test with its traceback)."""
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "execute_request", "username": "learner", "session": uuid.uuid4().hex, "version": "5.3"}
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False}
    channel.send(json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": "shell"}))
    messages: list[dict[str, Any]] = []
    while True:
        message = json.loads(channel.recv())
        if message["parent_header"].get("msg_id") != msg_id or message["channel"] != "iopub":
            continue
        assert message["msg_type"] != "error", "\n".join(message["content"]["traceback"])
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return messages
        messages.append(message)


@dataclass
class Shown:
    html: str  # the page cell's output
    app_port: int  # where the kernel's app listens


@pytest.fixture(scope="module")
def shown(jupyter: Jupyter) -> Iterator[Shown]:
    """The page cell, run by a kernel of the Jupyter server, which stays up while the test runs."""
    auth = {"Authorization": f"token {jupyter.token}"}
    session = httpx.post(
        jupyter.api("sessions"), headers=auth, timeout=60,
        json={"path": "notebooks/13_sse_route_and_page.ipynb", "type": "notebook", "name": "", "kernel": {"name": "python3"}},
    ).raise_for_status().json()  # fmt: skip
    kernel = session["kernel"]["id"]
    channel = websocket.create_connection(
        jupyter.api(f"kernels/{kernel}/channels").replace("http", "ws", 1), header=[f"Authorization: token {jupyter.token}"], timeout=60
    )
    try:
        _execute(channel, _cell(SETUP_CELL))
        results = [m for m in _execute(channel, _cell(PAGE_CELL)) if m["msg_type"] in ("execute_result", "display_data")]
        assert results, "the page cell showed nothing"
        printed = [m["content"]["text"] for m in _execute(channel, "print(page.port)") if m["msg_type"] == "stream"]
        yield Shown(results[-1]["content"]["data"]["text/html"], int("".join(printed)))
    finally:
        channel.close()
        httpx.delete(jupyter.api(f"sessions/{session['id']}"), headers=auth, timeout=30)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "profile"), executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            context.set_default_timeout(60_000)
            yield context
        finally:
            context.close()


def test_lesson_13s_page_streams_through_the_jupyter_server_only(jupyter: Jupyter, shown: Shown, browser: Any) -> None:
    src = re.search(r'src="([^"]+)"', shown.html)
    assert src, shown.html
    assert re.fullmatch(rf"{BASE_URL}proxy/{shown.app_port}/[\w-]+/", src.group(1)), f"not through jupyter-server-proxy: {src.group(1)}"
    sent: list[str] = []
    browser.on("request", lambda request: sent.append(request.url))

    page = browser.pages[0] if browser.pages else browser.new_page()
    # Signed in, on a page of the server's origin (its "not found" page: an API reply's policy forbids frames),
    # the cell's output is shown as JupyterLab shows it, under the same Content-Security-Policy as JupyterLab.
    page.goto(f"{jupyter.origin}{BASE_URL}classroom?token={jupyter.token}")
    page.set_content(shown.html)
    frame = page.frame_locator("iframe")
    frame.get_by_role("button", name=PROMPTS[KEY], exact=True).wait_for()
    chat = page.main_frame.child_frames[0]
    chat.evaluate(
        """() => { window.renders = [];
            new MutationObserver(() => {
                const answer = document.querySelector('.assistant .answer');
                const length = answer ? answer.textContent.length : 0;
                if (length && length !== window.renders[window.renders.length - 1]) window.renders.push(length);
            }).observe(document.querySelector('#transcript'), {subtree: true, childList: true, characterData: true}); }"""
    )
    frame.get_by_role("button", name=PROMPTS[KEY], exact=True).click()
    frame.locator(".assistant[data-state='complete']").wait_for()

    direct = [url for url in sent if urlsplit(url).port == shown.app_port]
    assert not direct, f"the browser went to the app's own port: {direct}"
    streams = [url for url in sent if "/chat/stream?" in url]
    assert streams and all(url.startswith(f"{jupyter.origin}{src.group(1)}chat/stream?") for url in streams), streams
    turn = frame.locator(".assistant")
    assert turn.get_attribute("data-final-length") == str(len(ANSWERS[KEY]))  # the whole answer arrived
    assert f"{len(ANSWERS[KEY].split())} words" in turn.locator(".status").text_content()
    assert len(chat.evaluate("window.renders")) >= 5, "the answer arrived in one piece: the proxy buffered the stream"


# -- Codespaces and Binder run `make setup` ----------------------------------------------------------------------


def _dry_run(*variables: str) -> list[str]:
    """The commands `make setup` runs (with these variables), as make prints them without running them."""
    done = subprocess.run(["make", "-s", "-n", "-B", "setup", *variables], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if line and not line.startswith("#")]


def test_the_codespace_is_set_up_by_make_setup() -> None:
    config = json.loads((REPO_ROOT / ".devcontainer" / "devcontainer.json").read_text(encoding="utf-8"))
    assert shlex.split(config["postCreateCommand"]) == ["make", "setup"]
    assert config["customizations"]["vscode"]["settings"]["python.defaultInterpreterPath"].endswith("/.venv/bin/python")
    image_python = re.search(r"python:(?:\d+-)?(3\.\d+)", config["image"])
    assert image_python and image_python.group(1) == _binder_python()


def _binder_python() -> str:
    runtime = (REPO_ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    assert runtime.startswith("python-"), runtime
    return runtime.removeprefix("python-")


def test_binder_installs_the_pinned_requirements_then_runs_make_setup_into_its_own_environment() -> None:
    binder = REPO_ROOT / "binder"
    lines = [line.strip() for line in (binder / "requirements.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines == ["-r ../requirements.txt"], "repo2docker must install the same pinned requirements.txt"
    requires = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert tuple(map(int, _binder_python().split("."))) >= tuple(map(int, requires.removeprefix(">=").split(".")))

    post_build = binder / "postBuild"
    assert os.access(post_build, os.X_OK), "repo2docker runs postBuild only when it is executable"
    commands = [line for line in post_build.read_text(encoding="utf-8").splitlines() if line and not line.startswith(("#", "set "))]
    assert commands == ["make setup VENV=\"$(python -c 'import sys; print(sys.prefix)')\""]

    # Into Binder's environment, make setup runs the same steps as into .venv, none of them still aimed at .venv.
    prefix = "/srv/conda/envs/notebook"
    into_binder, into_venv = _dry_run(f"VENV={prefix}"), _dry_run()
    assert [line.replace(prefix, ".venv") for line in into_binder] == into_venv
    assert not [line for line in into_binder if ".venv" in line]
    assert any(f"{prefix}/bin/python -m pip install --quiet --no-deps -e ." == line for line in into_binder)  # labs itself
    assert any(line.startswith("cp jupyter-config/") and line.endswith(f"{prefix}/etc/jupyter/") for line in into_binder)


@pytest.mark.parametrize(("runtime", "transport"), [("/tmp/jr", "ipc"), ("/tmp/" + "deep/" * 12, "tcp")])
def test_jupyterlab_kernels_use_unix_sockets_only_where_their_paths_fit(runtime: str, transport: str) -> None:
    # The settings make setup installs, read as JupyterLab reads them, with the runtime folder of a learner's machine.
    script = "from jupyter_server.serverapp import ServerApp\napp = ServerApp()\napp.load_config_file()\nprint(app.config.KernelManager.transport)"
    environment = {**os.environ, "JUPYTER_RUNTIME_DIR": runtime, "JUPYTER_CONFIG_DIR": str(REPO_ROOT / "jupyter-config")}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=60, check=True)
    assert run.stdout.split() == [transport]
