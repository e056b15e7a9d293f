"""LiveMarkdown: redraws at most once per interval plus once at the end, and counts what it sent; shorten cuts to one line."""

from __future__ import annotations

import pytest

from labs.display import CURSOR, ELLIPSIS, LiveMarkdown, notebook_target, safe_markdown_html, shorten, terminal_text


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Screen:
    """A display target that keeps every redraw."""

    def __init__(self) -> None:
        self.frames: list[str] = []

    def draw(self, markdown: str) -> None:
        self.frames.append(markdown)


def live(interval: float = 0.1) -> tuple[LiveMarkdown, Screen, Clock]:
    screen, clock = Screen(), Clock()
    return LiveMarkdown(interval=interval, target=screen, clock=clock), screen, clock


def test_first_piece_shows_at_once_then_at_most_one_redraw_per_interval() -> None:
    view, screen, clock = live()
    for step in range(30):  # a piece every 10 ms for 0.3 s
        clock.now = step * 0.01
        view.append(f"w{step} ")
    assert screen.frames[0] == "w0 " + CURSOR
    assert len(screen.frames) == 3  # at 0.0, 0.1 and 0.2 s
    assert all(frame.endswith(CURSOR) for frame in screen.frames)


def test_close_shows_the_whole_text_without_the_cursor_once() -> None:
    view, screen, clock = live()
    view.append("**Hello**")
    clock.now = 0.01
    view.append(", world")
    assert view.close() == "**Hello**, world"
    assert screen.frames == ["**Hello**" + CURSOR, "**Hello**, world"]
    view.close()
    assert len(screen.frames) == 2 and view.updates == 2
    assert view.sent_chars == sum(len(frame) for frame in screen.frames)


def test_interval_zero_redraws_on_every_piece() -> None:
    view, screen, _ = live(interval=0)
    for piece in ["a", "b", "c"]:
        view.append(piece)
    view.close()
    assert screen.frames == ["a" + CURSOR, "ab" + CURSOR, "abc" + CURSOR, "abc"]


def test_empty_pieces_are_ignored_and_an_empty_answer_draws_nothing() -> None:
    view, screen, _ = live()
    view.append("")
    assert view.close() == "" and screen.frames == [] and view.appends == 0


def test_the_context_manager_shows_the_text_even_when_the_stream_fails() -> None:
    screen, clock = Screen(), Clock()
    with pytest.raises(ConnectionError):
        with LiveMarkdown(target=screen, clock=clock) as view:
            view.append("partial")
            clock.now = 0.05
            view.append(" answer")
            raise ConnectionError("stream dropped")
    assert screen.frames[-1] == "partial answer"


def test_a_closed_view_refuses_more_text() -> None:
    view, _, _ = live()
    view.close()
    with pytest.raises(RuntimeError, match="closed"):
        view.append("late")


def test_a_negative_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="interval"):
        LiveMarkdown(interval=-1, target=Screen())


def test_outside_a_kernel_it_prints_only_what_is_new(capsys: pytest.CaptureFixture[str]) -> None:
    target = notebook_target()
    with LiveMarkdown(target=target, interval=0) as view:
        for piece in ["Two", "-day", " checklist"]:
            view.append(piece)
    assert capsys.readouterr().out == "Two-day checklist"


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("a  b\nc", 10, "a b c"),  # whitespace runs become one space, even when nothing is cut
        ("abcdef", 6, "abcdef"),  # exactly the width: kept whole
        ("abcdefg", 6, "abcde…"),  # one over: cut to the width, ellipsis included
        ("abcd efgh", 6, "abcd …"),  # a cut after a space keeps it, as the notebooks' stored tables show
    ],
)
def test_shorten_fits_text_on_one_line_of_the_width(text: str, width: int, expected: str) -> None:
    assert shorten(text, width) == expected
    assert len(shorten(text, width)) <= width and ("\n" not in shorten(text, width))


def test_a_shortened_text_ends_in_the_one_ellipsis_character() -> None:
    assert shorten("word " * 20, 12).endswith(ELLIPSIS) and ELLIPSIS == "…"


HOSTILE = [
    "<img src=x onerror=\"document.title='pwned'\">",
    "<script>alert(1)</script>",
    "<svg onload=alert(1)>",
    "[click](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<iframe src=\"https://example.com\"></iframe>",
    "```html\n<script>alert(1)</script>\n```",
    "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | `<b>` |",
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_model_text_renders_inert(payload: str) -> None:
    rendered = safe_markdown_html(payload).lower()
    for tag in ("<img", "<script", "<svg", "<iframe", "<a href=\"javascript", "<b>"):
        assert tag not in rendered, f"{tag} survived in {rendered!r}"
    assert "href=\"javascript" not in rendered


def test_the_markdown_look_is_kept() -> None:
    rendered = safe_markdown_html("## Pack\n\n**Wear** boots\n\n- water\n- map\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ [map](https://example.com)")
    for html in ("<h2>Pack</h2>", "<strong>Wear</strong>", "<li>water</li>", "<table>", "<td>1</td>", "<s>old</s>", '<a href="https://example.com">map</a>'):
        assert html in rendered


def test_in_a_kernel_the_view_displays_rendered_html_not_markdown_the_page_would_trust() -> None:
    import nbclient
    import nbformat

    code = "from labs.display import LiveMarkdown\nwith LiveMarkdown(interval=0) as view:\n"
    code += "".join(f"    view.append({piece!r})\n" for piece in ["**Hello** ", "<img src=x onerror=alert(1)>", " done"])
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(notebook, kernel_name="python3", timeout=60).execute()
    shown = [output for output in notebook.cells[0].outputs if output.output_type == "display_data"]
    assert shown and all("text/markdown" not in output.data for output in shown)
    final = shown[-1].data["text/html"]
    assert "<strong>Hello</strong>" in final and "&lt;img src=x onerror=alert(1)&gt;" in final and "<img" not in final


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("title\x1b]0;pwned\x07 set", "title set"),
        ("\x1b[2J\x1b[Hclear", "clear"),
        ("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("bell\x07 back\x08space\r", "bell backspace"),
        ("\x9b31mred", "red"),
        ("Zürich\t9 °C\n- a list", "Zürich\t9 °C\n- a list"),  # text, tabs and newlines stay
    ],
)
def test_terminal_text_drops_every_escape_and_control_but_newline_and_tab(text: str, shown: str) -> None:
    assert terminal_text(text) == shown
