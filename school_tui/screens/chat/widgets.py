"""Chat widgets: the unread badge, presence words, the conversation list and the message pane.

Everything a person wrote or is named is shown through `safe_text` (literal, no markup, no
terminal controls). Presence is always a symbol *and* a word, never colour alone.

The message pane (`MessageView`) is a line-API ScrollView: it keeps the loaded messages as
plain rows (at most MAX_LOADED of them, a window over the conversation) and renders only the
lines on screen, with a small cache of rendered messages. A 10,000-message conversation
therefore costs what one window of rows costs, whichever part of it is being read.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Group
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist

if TYPE_CHECKING:
    from textual import getters

    from school_tui.app import SchoolApp

from school_tui.db.chat import ChatMessage, Contact, Conversation
from school_tui.textual_internals.compositor import set_virtual_size
from school_tui.widgets.safe import safe_text

PRESENCE = {"online": "● online", "away": "◐ away", "offline": "○ offline"}


def presence_label(status: str | None) -> str:
    """A symbol and a word, so presence never depends on colour."""
    return PRESENCE.get(status or "offline", PRESENCE["offline"])


def format_time(moment) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def first_line(text: str, limit: int = 80) -> str:
    """The first non-empty line of a message, for a toast or a preview."""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"
    return ""


class UnreadBadge(Static):
    """The person's unread total, live from app.live.unread (on every screen's title bar)."""

    DEFAULT_CSS = """
    UnreadBadge { width: auto; height: 1; padding: 0 0 0 1; }
    UnreadBadge.-some { text-style: bold; }
    """
    if TYPE_CHECKING:
        app = getters.app(SchoolApp)

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.count: int | None = None

    def on_mount(self) -> None:
        live = self.app.live
        if live is None:
            return
        live.unread.subscribe(self, self.show_count)
        self.show_count(live.unread_total)

    def show_count(self, total: int | None) -> None:
        text = "✉ … unread" if total is None else f"✉ {total} unread"
        if total == self.count and str(self.content) == text:
            return  # nothing to redraw
        self.count = total
        self.set_class(bool(total), "-some")
        # A new width re-lays out the title bar; the same width only redraws the badge.
        self.update(text, layout=len(text) != len(str(self.content)))


# -- the conversation list ----------------------------------------------------------------------


class ConversationList(OptionList):
    """People this person has talked with, newest conversation first: name, unread count,
    presence and role. Option ids are the partners' user ids."""

    DEFAULT_CSS = """
    ConversationList { height: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.items: dict[int, Conversation] = {}

    @staticmethod
    def prompt(item: Conversation) -> Text:
        name = safe_text(item.name, max_length=24)
        if item.unread:
            name.stylize("bold")
            name.append(f" ({item.unread})", style="bold")
        second = safe_text(f"{presence_label(item.status)} · {item.role}", max_length=26)
        second.stylize("dim")
        text = Text.assemble(name, "\n", second, no_wrap=True, overflow="ellipsis")
        return text

    def set_conversations(self, rows: Iterable[Conversation]) -> None:
        # Someone picked from the search keeps their place until a message makes it real.
        pending = {pid: c for pid, c in self.items.items() if c.last_id == 0}
        self.items = {c.partner_id: c for c in rows}
        for pid, item in pending.items():
            self.items.setdefault(pid, item)
        self._rebuild()

    def _rebuild(self) -> None:
        highlighted = self.highlighted_option.id if self.highlighted_option else None
        # Newest first; someone just picked from the search (no message yet) on top.
        ordered = sorted(
            self.items.values(),
            key=lambda c: float("inf") if c.last_id == 0 else c.last_id,
            reverse=True,
        )
        self.set_options(Option(self.prompt(c), id=str(c.partner_id)) for c in ordered)
        if highlighted is not None and int(highlighted) in self.items:
            self.highlighted = self.get_option_index(highlighted)
        elif ordered:
            self.highlighted = 0

    def _replace(self, item: Conversation) -> None:
        self.items[item.partner_id] = item
        self.replace_option_prompt(str(item.partner_id), self.prompt(item))

    def ensure(self, contact: Contact) -> None:
        """Show someone found by the search, before any message with them exists."""
        if contact.id not in self.items:
            self.items[contact.id] = Conversation(
                contact.id, contact.name, contact.role, contact.status, 0, None, 0
            )
            self._rebuild()

    def select_partner(self, partner_id: int) -> None:
        if partner_id in self.items:
            self.highlighted = self.get_option_index(str(partner_id))

    def bump(self, partner_id: int, row: ChatMessage, unread_delta: int) -> bool:
        """A new message with `partner_id`: to the top, with its unread count. False when the
        partner is not in the list yet (the caller reloads it).

        Only what changed is redrawn: a conversation already on top with no new unread count
        (the one being read, in a back-and-forth) costs nothing; a new count replaces its own
        row; only a conversation moving to the top rebuilds the list."""
        item = self.items.get(partner_id)
        if item is None:
            return False
        if row.id > item.last_id or unread_delta:
            moves = not self._newest_already(partner_id)
            updated = dataclasses.replace(
                item,
                last_id=max(item.last_id, row.id),
                last_at=row.sent_at,
                unread=item.unread + unread_delta,
            )
            self.items[partner_id] = updated
            if moves:
                self._rebuild()
            elif unread_delta:
                self.replace_option_prompt(str(partner_id), self.prompt(updated))
        return True

    def _newest_already(self, partner_id: int) -> bool:
        """Is the conversation with `partner_id` shown first after the pending ones (people
        picked from the search, no message yet)? Then a new message keeps the order."""
        item = self.items[partner_id]
        if item.last_id == 0:
            return False  # pending: its first message moves it among the others
        pending = sum(1 for c in self.items.values() if c.last_id == 0)
        try:
            return self.get_option_index(str(partner_id)) == pending
        except OptionDoesNotExist:
            return False

    def set_unread(self, partner_id: int, count: int) -> None:
        item = self.items.get(partner_id)
        if item is not None and item.unread != count:
            self._replace(dataclasses.replace(item, unread=count))

    def update_presence(self, statuses: dict[int, str]) -> None:
        for partner_id, status in statuses.items():
            item = self.items.get(partner_id)
            if item is not None and item.status != status:
                self._replace(dataclasses.replace(item, status=status))

    def unread_of(self, partner_id: int) -> int:
        item = self.items.get(partner_id)
        return item.unread if item else 0


# -- the message pane ---------------------------------------------------------------------------


class MessageView(ScrollView, can_focus=True):
    """One conversation as a window of at most MAX_LOADED messages, oldest at the top.

    Line 0 says whether older messages exist (Home or scrolling to the top asks for them:
    `OlderWanted`); when newer ones were pushed out of the window, the last line says so and
    scrolling to the bottom asks for them (`NewerWanted`), End for the newest (`LatestWanted`).
    """

    MAX_LOADED = 500
    STRIP_CACHE = 120  # rendered messages kept; heights are kept for every loaded row

    DEFAULT_CSS = """
    MessageView {
        height: 1fr; overflow-x: hidden; overflow-y: scroll; scrollbar-size-vertical: 1;
        padding: 0 1;
    }
    MessageView > .message-view--mine { color: $text-accent; text-style: bold; }
    MessageView > .message-view--theirs { color: $text-primary; text-style: bold; }
    MessageView > .message-view--meta { color: $text-muted; }
    MessageView > .message-view--notice { color: $text-muted; text-style: italic; }
    """
    COMPONENT_CLASSES = {
        "message-view--mine",
        "message-view--theirs",
        "message-view--meta",
        "message-view--notice",
    }
    BINDINGS = [
        Binding("home", "older", "Older", id="chat.older"),
        Binding("end", "latest", "Newest", show=False, id="chat.latest"),
    ]  # up, down, page up/down: ScrollableContainer's

    class OlderWanted(Message):
        def __init__(self, before_id: int) -> None:
            super().__init__()
            self.before_id = before_id

    class NewerWanted(Message):
        def __init__(self, after_id: int) -> None:
            super().__init__()
            self.after_id = after_id

    class LatestWanted(Message):
        pass

    def __init__(self, me: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.me = me
        self.partner_name = ""
        self.rows: list[ChatMessage] = []
        self.has_older = False
        self.has_newer = False
        self.fetching = False  # a page is on its way: no second request
        self.empty_note = "No conversation open. Ctrl+N starts one."
        self._ids: set[int] = set()
        self._index: dict[int, int] = {}
        self._starts: list[int] = []
        self._heights: dict[int, int] = {}
        self._strips: LRUCache[int, list[Strip]] = LRUCache(self.STRIP_CACHE)
        self._width = 0
        self._follow = True  # at the bottom: new messages keep it there
        self._paint_style: Style | None = None
        self._strips_style: Style | None = None
        self._part_styles: dict[str, Style] = {}

    # -- content ---------------------------------------------------------------------------

    def reset(self, partner_name: str, rows: list[ChatMessage], has_older: bool) -> None:
        """Show a conversation from its newest page (rows in any order)."""
        self.partner_name = partner_name
        self.rows = []
        self._ids = set()
        self._heights.clear()
        self._strips.clear()
        self.has_older = has_older
        self.has_newer = False
        self.fetching = False
        self._follow = True
        self._merge(rows)
        self._relayout(anchor=None)

    def set_partner_name(self, name: str) -> None:
        if name != self.partner_name:
            self.partner_name = name
            self._strips.clear()
            self.refresh()

    def clear_conversation(self, note: str) -> None:
        self.empty_note = note
        self.reset("", [], False)

    def fetch_failed(self) -> None:
        self.fetching = False
        self.refresh()

    def add_older(self, rows: list[ChatMessage], has_older: bool) -> None:
        anchor = self._anchor()
        self.fetching = False
        self.has_older = has_older
        self._merge(rows)
        if len(self.rows) > self.MAX_LOADED:
            self._drop(newest=len(self.rows) - self.MAX_LOADED)
            self.has_newer = True
        self._relayout(anchor)

    def add_newer(self, rows: list[ChatMessage], has_newer: bool) -> None:
        anchor = self._anchor()
        self.fetching = False
        self.has_newer = has_newer
        self._merge(rows)
        if len(self.rows) > self.MAX_LOADED:
            self._drop(oldest=len(self.rows) - self.MAX_LOADED)
            self.has_older = True
        self._relayout(anchor)

    def add_live(self, rows: list[ChatMessage]) -> list[ChatMessage]:
        """Messages that just arrived (or were just sent); returns those now shown. While
        newer messages are outside the window, they wait there (End shows them)."""
        if self.has_newer:
            return []
        fresh = [r for r in rows if r.id not in self._ids]
        if not fresh:
            return []
        anchor = self._anchor()
        if self._appends(fresh):
            over = len(self.rows) + len(fresh) - self.MAX_LOADED
            if over <= 0:
                self._append(fresh)
                return fresh
            if self._follow and over < len(self.rows):
                # A full window at the bottom: the oldest rows go, the rest keep their layout.
                self._drop_laid_out(over)
                self._append(fresh, moved=True)
                return fresh
        self._merge(fresh)
        if len(self.rows) > self.MAX_LOADED:
            self._drop(oldest=len(self.rows) - self.MAX_LOADED)
            self.has_older = True
        self._relayout(anchor)
        return fresh

    def _appends(self, fresh: list[ChatMessage]) -> bool:
        """Do `fresh` go after every loaded row, with the layout of those rows still valid?"""
        return (
            bool(self.rows)
            and len(self._starts) == len(self.rows)
            and self._width == self._content_width() > 0
            and min(r.id for r in fresh) > self.rows[-1].id
        )

    def _drop_laid_out(self, count: int) -> None:
        """Drop the `count` oldest rows and move the layout of the others up, without laying
        them out again (the window is full and the view follows the bottom)."""
        self._drop(oldest=count)
        self.has_older = True
        shift = self._starts[count] - self._starts[0]
        self._starts = [start - shift for start in self._starts[count:]]
        self._index = {row.id: i for i, row in enumerate(self.rows)}

    def _append(self, fresh: list[ChatMessage], moved: bool = False) -> None:
        """The usual live message: lay out only the new rows, draw only the new lines (or, if
        the view follows the bottom and must scroll, the pane, which scrolling redraws).
        `moved`: the rows above moved too (the oldest were dropped): the pane is redrawn."""
        fresh = sorted(fresh, key=lambda r: r.id)
        self._ids.update(r.id for r in fresh)
        y = first = self._starts[-1] + self._height(self.rows[-1])
        for row in fresh:
            self._index[row.id] = len(self.rows)
            self.rows.append(row)
            self._starts.append(y)
            y += self._height(row)
        set_virtual_size(self, Size(self._width, y))
        top = round(self.scroll_y)
        if self._follow and self.max_scroll_y != top:
            self.scroll_to(y=self.max_scroll_y, animate=False)  # scrolling redraws the pane
            return
        if moved:
            self.refresh()
            return
        # Only the new lines that are on screen (a region outside the widget would widen
        # the screen's update to whatever lies below it).
        start, end = max(first, top), min(y, top + self.scrollable_content_region.height)
        if start < end:
            self.refresh_lines(start, end - start)

    def mark_read(self, ids: Iterable[int]) -> None:
        for message_id in ids:
            index = self._index.get(message_id)
            if index is not None and not self.rows[index].is_read:
                self.rows[index] = dataclasses.replace(self.rows[index], is_read=True)
                if self.rows[index].sender_id != self.me:
                    continue  # only one's own messages say "sent" or "read"
                self._strips.discard(message_id)
                if index < len(self._starts):  # only its header line changes
                    self.refresh_line(self._starts[index])

    def sent_by(self, sender_id: int, ids: Iterable[int]) -> set[int]:
        """Those of `ids` that are loaded here and were sent by `sender_id`."""
        rows, index = self.rows, self._index
        return {i for i in ids if i in index and rows[index[i]].sender_id == sender_id}

    def unread_from(self, partner_id: int) -> list[int]:
        """Ids of loaded messages from `partner_id` this person has not read yet."""
        return [r.id for r in self.rows if r.sender_id == partner_id and not r.is_read]

    @property
    def first_id(self) -> int | None:
        return self.rows[0].id if self.rows else None

    @property
    def last_id(self) -> int | None:
        return self.rows[-1].id if self.rows else None

    def _merge(self, rows: Iterable[ChatMessage]) -> None:
        fresh = [r for r in rows if r.id not in self._ids]
        if not fresh:
            return
        self._ids.update(r.id for r in fresh)
        self.rows = sorted(self.rows + fresh, key=lambda r: r.id)

    def _drop(self, *, newest: int = 0, oldest: int = 0) -> None:
        dropped = self.rows[len(self.rows) - newest :] if newest else self.rows[:oldest]
        self.rows = self.rows[: len(self.rows) - newest] if newest else self.rows[oldest:]
        for row in dropped:
            self._ids.discard(row.id)
            self._heights.pop(row.id, None)
            self._strips.discard(row.id)

    # -- layout ----------------------------------------------------------------------------

    def _content_width(self) -> int:
        return self.scrollable_content_region.width

    def _anchor(self) -> tuple[int, int] | None:
        """What is at the top of the view (message id, line within it), or None to follow."""
        if self._follow or not self.rows or not self._starts:
            return None
        y = round(self.scroll_y)
        index = max(0, bisect_right(self._starts, y) - 1)
        return self.rows[index].id, y - self._starts[index]

    def _relayout(self, anchor: tuple[int, int] | None) -> None:
        width = self._content_width()
        self._index = {row.id: i for i, row in enumerate(self.rows)}
        if width <= 0:
            self._starts = []
            self.refresh()
            return
        if width != self._width:
            self._width = width
            self._heights.clear()
            self._strips.clear()
        starts = []
        y = 1  # line 0: the older-messages note
        for row in self.rows:
            starts.append(y)
            y += self._height(row)
        self._starts = starts
        total = y + (1 if self.has_newer else 0)
        set_virtual_size(self, Size(width, total))
        if anchor is None:
            if not self.has_newer:
                self.scroll_to(y=self.max_scroll_y, animate=False)
                self._follow = True
        else:
            message_id, offset = anchor
            index = self._index.get(message_id)
            if index is not None:
                self.scroll_to(y=max(0, starts[index] + offset), animate=False)
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # the styles are in the rendered lines
        self._paint_style = None
        self._part_styles.clear()

    def _component_style(self, part: str) -> Style:
        """`message-view--<part>`'s style, read once per widget style (like `rich_style`, it
        walks every ancestor: three times per message drawn)."""
        style = self._part_styles.get(part)
        if style is None:
            style = self.get_component_rich_style(f"message-view--{part}")
            self._part_styles[part] = style
        return style

    def on_resize(self, event) -> None:
        if self._content_width() != self._width:
            self._relayout(self._anchor())

    def _height(self, row: ChatMessage) -> int:
        height = self._heights.get(row.id)
        if height is None:
            height = len(self._render_row(row))
        return height

    def _render_row(self, row: ChatMessage) -> list[Strip]:
        strips = self._strips.get(row.id)
        if strips is not None:
            return strips
        width = self._width
        base = self._base_style()  # first: a new one makes the component styles read again
        mine = row.sender_id == self.me
        who = Text("You") if mine else safe_text(self.partner_name, max_length=30)
        who.stylize(self._component_style("mine" if mine else "theirs"))
        meta = format_time(row.sent_at)
        if mine:
            meta += " · read" if row.is_read else " · sent"
        header = Text.assemble(
            who,
            (" · " + meta, self._component_style("meta")),
            no_wrap=True,
            overflow="ellipsis",
        )
        body = safe_text(row.message, multiline=True)
        console = self.app.console
        lines = console.render_lines(
            Group(header, Padding(body, (0, 0, 0, 2))),
            console.options.update_width(width),
            pad=True,
        )
        # Kept as drawn (the widget's own style applied), so drawing a line is a lookup.
        strips = [Strip(line, width).apply_style(base) for line in lines]
        strips.append(Strip.blank(width, base))
        self._strips.set(row.id, strips)
        self._heights[row.id] = len(strips)
        return strips

    # -- drawing ---------------------------------------------------------------------------

    def _notice(self, text: str) -> Strip:
        strip = Strip([Segment(text, self._component_style("notice"))])
        return self._finish(strip)

    def _blank(self) -> Strip:
        return Strip.blank(self._content_width(), self._base_style())

    def _finish(self, strip: Strip) -> Strip:
        base = self._base_style()
        return strip.crop_extend(0, self._content_width(), base).apply_style(base)

    def _base_style(self) -> Style:
        """The widget's style (background, colour), as of this paint: `rich_style` walks every
        ancestor, too slow to ask once per line. Rendered messages keep it: a new one (a theme,
        focus) makes them render again."""
        style = self._paint_style
        if style is None:
            style = self._paint_style = self.rich_style
        if style != self._strips_style:
            self._strips.clear()
            self._part_styles.clear()
            self._strips_style = style
        return style

    def render_lines(self, crop: Region) -> list[Strip]:
        self._paint_style = None  # asked again once per paint (an ancestor's may change)
        self._base_style()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        return self._line(self.scroll_offset.y + y)

    def _line(self, line: int) -> Strip:
        """Line `line` of the conversation, as drawn (the widget's style applied)."""
        if not self.rows:
            return self._notice(self.empty_note) if line == 0 else self._blank()
        if line == 0:
            if self.fetching:
                return self._notice("Loading older messages…")
            if self.has_older:
                return self._notice("↑ Older messages: Home (or scroll up)")
            return self._notice("— The beginning of the conversation —")
        if not self._starts:
            return self._blank()
        index = bisect_right(self._starts, line) - 1
        if index < 0:
            return self._blank()
        strips = self._render_row(self.rows[index])
        within = line - self._starts[index]
        if within < len(strips):
            return strips[within]  # kept as drawn: a lookup
        if self.has_newer:
            return self._notice("↓ Newer messages: End (or scroll down)")
        return self._blank()

    # -- scrolling -------------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._follow = not self.has_newer and new_value >= self.max_scroll_y
        if self.fetching or not self.rows:
            return
        if new_value <= 0 < old_value and self.has_older:
            self._want_older()
        elif new_value >= self.max_scroll_y > old_value and self.has_newer:
            self.fetching = True
            self.post_message(self.NewerWanted(self.rows[-1].id))

    def _want_older(self) -> None:
        self.fetching = True
        self.refresh_line(0)
        self.post_message(self.OlderWanted(self.rows[0].id))

    def action_older(self) -> None:
        self.scroll_to(y=0, animate=False)
        if self.has_older and not self.fetching and self.rows:
            self._want_older()

    def action_latest(self) -> None:
        if self.has_newer:
            if not self.fetching:
                self.fetching = True
                self.post_message(self.LatestWanted())
            return
        self.scroll_to(y=self.max_scroll_y, animate=False)
