"""A workbook error in a notebook shows its message and what to do; every other error keeps its traceback."""

from __future__ import annotations

import nbformat
import openai
import pytest
from nbclient import NotebookClient

import labs
from labs.errors import replay_miss_message

NEVER_RECORDED = [{"role": "user", "content": "A question no fixture holds: what is the airspeed of a swallow?"}]


def test_a_replay_miss_is_recognised_through_the_sdk_exception_and_its_causes() -> None:
    client = labs.openai_client(max_retries=0)
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model=labs.model(), messages=NEVER_RECORDED, stream=True)
    message = replay_miss_message(info.value)
    assert message is not None and message.startswith("No recorded response for POST /chat/completions")
    try:  # a wrapper that raises from the SDK's error (as Semantic Kernel does) is seen through
        raise RuntimeError("the connector failed") from info.value
    except RuntimeError as wrapped:
        assert replay_miss_message(wrapped) == message


def test_other_errors_are_not_taken_for_a_miss() -> None:
    client = labs.openai_client(max_retries=0)
    with pytest.raises(openai.NotFoundError) as info:  # the replay server's 404 for a route it does not serve
        client.get(f"{labs.replay_server().url}/not-a-service-route", cast_to=object)
    assert "not-a-service-route" in str(info.value)
    assert replay_miss_message(info.value) is None
    assert replay_miss_message(ValueError("No recorded response for this, says a user's own error")) is None


def _errors_of(cells: list[str]) -> list[dict]:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    NotebookClient(notebook, kernel_name="python3", allow_errors=True, timeout=120).execute()
    return [[o for o in cell.outputs if o.output_type == "error"] for cell in notebook.cells]


def test_in_a_real_kernel_workbook_errors_are_one_message_and_others_keep_their_traceback() -> None:
    errors = _errors_of([
        "import labs, openai\nclient = labs.openai_client(max_retries=0)",
        f"client.chat.completions.create(model=labs.model(), messages={NEVER_RECORDED!r}, stream=True)",
        "try:\n    client.chat.completions.create(model=labs.model(), messages=[], stream=True)\nexcept openai.NotFoundError:\n    print('caught')",
        "import os\nos.environ['LABS_MODE'] = 'offline'\nlabs.settings()",
        "def inner():\n    return 1 / 0\ninner()",
    ])
    miss, caught, config, other = errors[1], errors[2], errors[3], errors[4]
    assert [e.ename for e in miss] == ["NotFoundError"]
    shown = "\n".join(miss[0].traceback)
    assert "Closest recording" in shown and "Traceback" not in shown and "File " not in shown and len(miss[0].traceback) < 6
    assert caught == []  # code that catches the SDK's exception still gets it
    assert [e.ename for e in config] == ["ConfigError"] and len(config[0].traceback) == 1
    assert "LABS_MODE='offline' is not a mode" in config[0].traceback[0]
    assert [e.ename for e in other] == ["ZeroDivisionError"]
    assert "inner()" in "\n".join(other[0].traceback) and len(other[0].traceback) > 3  # IPython's traceback, as ever
