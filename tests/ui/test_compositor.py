"""CroppingCompositor (school_tui/textual_internals/compositor.py) writes to the terminal exactly what Textual's
own compositor writes, for every kind of partial update a chat screen makes: a pane that
scrolled, a new line, a header, a list row, the footer, a toast on top, unions of them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from rich.console import Console
from textual._compositor import ChopsUpdate, Compositor
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.geometry import Region
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from school_tui.db.chat import ChatMessage, Conversation
from school_tui.screens.chat.widgets import ConversationList, MessageView
from school_tui.textual_internals.compositor import CroppingCompositor


class Pane(Screen):
    CSS = """
    #side { width: 30; border-right: vkey $panel; }
    #head { height: 1; background: $panel; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._compositor = CroppingCompositor()

    def compose(self) -> ComposeResult:
        yield Static("Title", id="title")
        with Horizontal():
            with Vertical(id="side"):
                yield ConversationList(id="list")
            with Vertical():
                yield Static("head", id="head")
                yield MessageView(1, id="view")
                yield Input("draft", id="compose")
        yield Footer()


class PaneApp(App):
    def on_mount(self) -> None:
        self.push_screen(Pane())


def _written(compositor, chops_of, crop: Region) -> str:
    spans = list(compositor._regions_to_spans([crop]))
    chops = chops_of(compositor, crop, {y for y, _, _ in spans}.__contains__)
    update = ChopsUpdate(chops, spans, [cut_set[1:] for cut_set in compositor.cuts])
    written = update.render_segments(
        Console(width=80, color_system="truecolor", force_terminal=True)
    )
    # Textual's also moves the cursor to a chop that starts where a span ends and writes
    # nothing there (a widget just right of the update); ours does not draw that widget.
    return re.sub(r"\x1b\[\d+;\d+H(?=\x1b\[\d+;\d+H|\n|$)", "", written)


async def test_the_cropping_compositor_writes_what_textuals_does():
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        now = datetime(2026, 1, 1, tzinfo=UTC)
        screen.query_one(ConversationList).set_conversations(
            Conversation(i, f"Person {i}", "Teacher", "online", i, now, i % 3) for i in range(2, 9)
        )
        view = screen.query_one(MessageView)
        rows = [
            ChatMessage(
                i,
                1 if i % 2 else 2,
                2 if i % 2 else 1,
                f"message {i}\n" * (i % 3 + 1),
                now,
                i % 4 == 0,
            )
            for i in range(1, 40)
        ]
        await pilot.pause()
        view.reset("Person 2", rows, has_older=True)
        await pilot.pause()
        app.notify("a toast over the pane", timeout=30)
        await pilot.pause()
        await pilot.pause()
        compositor = screen._compositor
        assert isinstance(compositor, CroppingCompositor)
        regions = [region for region, _ in compositor.visible_widgets.values()]
        crops = [*regions, compositor.size.region]
        crops += [a.union(b) for a in regions for b in regions[:6]]
        crops += [Region(31, 5, 10, 1), Region(0, 3, 80, 2), Region(60, 18, 20, 5)]
        for crop in crops:
            crop = crop.intersection(compositor.size.region)
            if not crop.area:
                continue
            ours = _written(compositor, CroppingCompositor._render_chops, crop)
            theirs = _written(compositor, Compositor._render_chops, crop)
            assert ours == theirs, crop
