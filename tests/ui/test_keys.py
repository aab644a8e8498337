"""Hostile input at the keyboard: a bracketed paste with an ESC in it arrives as one piece of
text, in order, its controls shown (school_tui/textual_internals/paste.py); a burst of
10,000 keys into one field is typed at once and the key after it is acted on
(school_tui/textual_internals/typeahead.py, `_type_run`)."""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Input

from school_tui import textual_internals
from school_tui.app import SchoolApp
from school_tui.screens.registrar.students import StudentsScreen
from school_tui.textual_internals import paste
from school_tui.textual_internals.typeahead import TypeAhead
from school_tui.widgets.export import ExportModal
from tests.harness import burst, log_in, wait_until

SIZE = (80, 24)
HOSTILE = "AAA \x1b[31mBBB"  # ESC [ 3 1 m inside the paste
BURST = 10_000


def parsed(*reads: str) -> list:
    """What the terminal parser (patched by the fence, as SchoolApp starts it) makes of the
    bytes read, one read after another."""
    from textual._xterm_parser import XTermParser

    assert textual_internals.start().ok
    parser = XTermParser()
    return [token for data in reads for token in parser.feed(data)]


def paste_of(text: str) -> str:
    return f"\x1b[200~{text}\x1b[201~"


def test_a_paste_with_an_escape_is_one_paste_in_order_with_the_escape_shown():
    tokens = parsed("x" + paste_of(HOSTILE) + "y")
    assert [type(t) for t in tokens] == [events.Key, events.Paste, events.Key]
    assert tokens[1].text == "AAA \N{SYMBOL FOR ESCAPE}[31mBBB"
    assert [tokens[0].character, tokens[2].character] == ["x", "y"]


def test_a_paste_split_across_reads_keeps_lines_and_drops_nul():
    tokens = parsed("\x1b[20", "0~one\x00\rtwo\x07\x1b[1", "m\x1b[20", "1~")
    assert [type(t) for t in tokens] == [events.Paste]
    assert tokens[0].text == "one\rtwo\N{SYMBOL FOR BELL}\N{SYMBOL FOR ESCAPE}[1m"
    # And keys after it are keys again: an arrow is an arrow.
    assert [t.key for t in parsed("\x1b[A")] == ["up"]


def test_paste_shows_controls_as_safe_text_does():
    from school_tui.widgets.safe import clean

    odd = "a\x1b\x7f\x9b\u202eb"
    assert paste.shown(odd) == clean(odd)


class Form(App):
    """One field; Ctrl+S counts what the field held when it came."""

    BINDINGS = [Binding("ctrl+s", "save", "Save")]

    def __init__(self, max_length: int = 0) -> None:
        super().__init__()
        self.typeahead = TypeAhead(self)
        self.saved: list[str] = []
        self.changes = 0
        self.max_length = max_length

    def compose(self) -> ComposeResult:
        yield Input(id="name", max_length=self.max_length)

    def on_mount(self) -> None:
        self.query_one("#name").focus()

    async def on_event(self, event) -> None:  # as SchoolApp.on_event
        if self.typeahead.take(event):
            return
        await super().on_event(event)

    def on_input_changed(self) -> None:
        self.changes += 1

    def action_save(self) -> None:
        self.saved.append(self.query_one("#name", Input).value)


def typed(n: int) -> str:
    return "".join("abcdefghij"[i % 10] for i in range(n))


async def test_a_burst_of_ten_thousand_keys_is_typed_at_once_and_ctrl_s_acts_after_it():
    app = Form()
    async with app.run_test() as pilot:
        field = app.query_one("#name", Input)
        await burst(pilot, *typed(BURST), "ctrl+s", *"tail")
        await wait_until(pilot, lambda: field.value.endswith("tail"), "every key")
        assert field.value == typed(BURST) + "tail"
        assert app.saved == [typed(BURST)]  # after the burst, before what followed
        # Typed in runs, not one key (one change, one layout, one drawing) at a time.
        assert app.changes <= 4


async def test_a_paste_in_a_burst_lands_in_order():
    app = Form()
    async with app.run_test() as pilot:
        field = app.query_one("#name", Input)
        (pasted,) = parsed(paste_of(HOSTILE))
        await burst(pilot, *"ab")
        app.post_message(pasted)  # as the driver posts what the parser read
        await burst(pilot, *"cd")
        await wait_until(pilot, lambda: field.value.endswith("cd"), "the keys after the paste")
        assert field.value == "abAAA \N{SYMBOL FOR ESCAPE}[31mBBBcd"


async def test_a_run_refuses_what_max_length_refuses_key_by_key():
    app = Form(max_length=5)
    async with app.run_test() as pilot:
        field = app.query_one("#name", Input)
        await burst(pilot, *"abc", "left", "left", *"XYZ", "ctrl+s")
        await wait_until(pilot, lambda: app.saved, "the save")
        assert app.saved == ["aXYbc"]  # Z did not fit, as when typed one at a time
        field.selection = (0, 5)  # the whole value selected: the first key replaces it
        await burst(pilot, *"12345678", "ctrl+s")
        await wait_until(pilot, lambda: len(app.saved) == 2, "the second save")
        assert app.saved[1] == "12345"


async def test_ten_thousand_keys_in_the_students_search_then_ctrl_s_exports(demo_school):
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "registrar@demo.school")
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, StudentsScreen), "students")
        search = app.screen.query_one("#student-search", Input)
        await wait_until(pilot, lambda: app.focused is search, "the search box focused")
        await burst(pilot, *typed(BURST), "ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportModal), "the export form")
        assert search.value == typed(BURST)
        assert app.typeahead.waiting == 0
