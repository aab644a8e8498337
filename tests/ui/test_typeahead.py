"""The type-ahead mechanism (school_tui/textual_internals/typeahead.py) on a bare Textual app, without the
database: keys sent as one burst reach what the keys before them focused, keys typed while a
screen holds them wait and are replayed in order, and a drop forgets them. It reads Textual
internals (textual is pinned): these tests are the first to fail if those change."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Input

from school_tui.textual_internals import typeahead
from school_tui.textual_internals.typeahead import TypeAhead
from tests.harness import burst, wait_until
from tests.pages import notes


class Form(App):
    """Two fields; Enter in the first moves on, Enter in the second "looks up" (held until
    the test answers, as a db_work worker's message would)."""

    def __init__(self) -> None:
        super().__init__()
        self.typeahead = TypeAhead(self)
        self.submitted: list[str] = []

    def compose(self) -> ComposeResult:
        yield Input(id="first")
        yield Input(id="second")
        yield Input(id="third", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#first").focus()

    async def on_event(self, event) -> None:  # as SchoolApp.on_event
        if self.typeahead.take(event):
            return
        await super().on_event(event)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submitted.append(event.value)
        if event.input.id == "first":
            self.query_one("#second").focus()
        elif event.input.id == "second":
            typeahead.hold(self.screen, "lookup")

    def answer(self, ok: bool) -> None:
        """The lookup's answer: the third field, or a refusal."""
        if ok:
            third = self.query_one("#third", Input)
            third.disabled = False
            third.focus()
        typeahead.release(self.screen, "lookup", drop=not ok)


def value(app, field: str) -> str:
    return app.query_one(f"#{field}", Input).value


async def test_a_burst_reaches_the_field_the_enter_before_it_focused():
    app = Form()
    async with app.run_test() as pilot:
        await burst(pilot, *"one", "enter", *"two")
        await wait_until(pilot, lambda: value(app, "second") == "two", "the second field")
        assert value(app, "first") == "one"
        assert app.submitted == ["one"]


async def test_keys_typed_while_held_wait_and_are_replayed_in_order():
    app = Form()
    async with app.run_test() as pilot:
        await burst(pilot, *"one", "enter", *"two", "enter", *"three", "enter")
        await wait_until(pilot, lambda: app.submitted == ["one", "two"], "the lookup")
        assert app.typeahead.waiting == 6  # "three" and Enter, waiting for the answer
        assert value(app, "second") == "two"  # nothing typed into the field left behind
        app.answer(ok=True)
        await wait_until(pilot, lambda: app.submitted == ["one", "two", "three"], "the replay")
        assert value(app, "third") == "three"
        # And a key typed later goes straight on.
        await pilot.press("x")
        assert value(app, "third") == "threex"


async def test_a_refusal_drops_the_keys_typed_for_what_did_not_come():
    app = Form()
    async with app.run_test() as pilot:
        await burst(pilot, *"one", "enter", *"two", "enter", *"abc")
        await wait_until(pilot, lambda: app.typeahead.waiting == 3, "the keys typed ahead")
        app.answer(ok=False)
        note = "3 keys typed ahead not used: see the message, then type again."
        await wait_until(pilot, lambda: notes(app) == [note], "the note")
        assert app.typeahead.waiting == 0
        assert value(app, "second") == "two"
        assert value(app, "third") == ""
        await pilot.press("z")  # and the keyboard works on
        assert value(app, "second") == "twoz"


async def test_a_hold_whose_screen_is_gone_holds_nothing():
    app = Form()
    async with app.run_test() as pilot:
        gone = Input()
        typeahead.hold(gone, "never mounted, never released")
        await burst(pilot, *"ok")
        await wait_until(pilot, lambda: value(app, "first") == "ok", "the keys")
