"""Type-ahead: keys typed in a burst land where the person meant them.

Why this exists. Textual 8 routes a key when the App takes it off its queue: `App.on_event`
forwards it (`_forward_event`, a post) to whatever `app.focused` is *at that moment*. What a
key does happens later and in several hops: Enter in an Input goes to the Input, bubbles up
to the App, which runs the `enter` binding (`Input.action_submit`), which posts
`Input.Submitted`, which bubbles to the screen, whose handler calls `widget.focus()`, which
itself only schedules the change (`app.call_later(screen.set_focus)`). The terminal driver
posts every key of a read at once, so when "email, Enter, password, Enter" arrives in one
burst (a fast typist, a paste, `tmux send-keys`, keys bunched by a slow SSH link) the App has
already forwarded the password's keys to the email field before the Enter's focus change is
applied. Keys whose target depends on a database answer (the cashier's account, the
registrar's search results) are worse: the answer comes from a worker thread much later.

The mechanism, one for the whole app. `SchoolApp.on_event` hands every key (and paste) from
the terminal to `TypeAhead.take` instead of routing it. Keys then go to Textual's normal
routing (so BINDINGS, priority bindings and widgets see them exactly as before) one at a
time, in order, each only once the previous one has *settled*:

1. **Its effects are applied**: every message pump of the app and of the screens in the stack
   has handled all it was sent (the key, what it bubbled, the messages and `call_later`
   callbacks it caused, a screen being pushed and mounted, the screen's after-refresh
   callbacks). Focus moved by a handler is then in place.
2. **Nothing holds the keys**: a screen that starts database work whose answer decides where
   the next keys go calls `hold(self, reason)` and, once the answer is shown and focus is
   where the person expects it, `release(self, reason)`. Keys typed meanwhile wait here
   and are then replayed, in order. When the answer is not what the typist could expect
   (a refusal, several students to choose from, an error), the screen calls
   `release(..., drop=True)`: the keys typed ahead were meant for a form that did not
   come, and are dropped with a note, never sent somewhere else.

A key typed at human speed settles in well under a millisecond, so nothing is slower for
someone typing one key at a time. A burst is another matter: settling one key means the
screen has laid itself out and drawn, about a millisecond, and an Input's value grows with
each key, so 10,000 keys typed into one field cost minutes of full CPU one by one. So a
*run* of printable keys at the head of the queue, bound for a plain `Input` that has focus,
is typed into it at once (`_type_run`): the value, the cursor, one `Input.Changed`, as the
keys one after another would have left them (`max_length` refuses the same characters;
an Input with `restrict` or a numeric `type`, or any other widget, gets its keys one at a
time as before). A key bound with priority ends the run and is routed on its own, as is
every key that is not printable (Enter, Ctrl+S), after the run has settled. Safety nets: a key whose effects do not settle within
SETTLE_LIMIT is routed anyway (never lost), a hold older than HOLD_LIMIT is let go with the
keys behind it dropped, and an error handled by SchoolApp.handle_error drops both (the
error modal must not take keys typed for the form). A hold's owner that leaves the screen
(popped, logged out) no longer holds anything.

Mouse events are not queued: they are aimed at a place on screen, not at the focus.

Settling is read from Textual's internals (`_pump_quiet`). When the start-up check (this
package's `__init__`) finds a Textual they may not mean the same in, or reading them fails
while in use, TypeAhead is off: every key is routed as it arrives, as stock Textual does
(never held back a second each by a settle that cannot be seen), and holds do nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from textual import events
from textual.app import App
from textual.dom import DOMNode
from textual.message_pump import MessagePump
from textual.widgets import Input

from school_tui import textual_internals

SETTLE_LIMIT = 1.0  # seconds: route the next key anyway (a widget that never goes quiet)
HOLD_LIMIT = 15.0  # seconds: a hold never released (a bug) must not freeze the keyboard


class TypeAhead:
    def __init__(self, app: App[Any], enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled  # False: keys are routed as they arrive (stock Textual)
        self._keys: deque[events.Event] = deque()
        self._holds: dict[tuple[int, str], tuple[Any, float]] = {}  # -> (owner, since)
        # The keys handed back to the App to route, until it takes them (by id: Events are
        # not hashable). More than one when a key is routed before the last one settled.
        self._routing: dict[int, events.Event] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    # -- the App's side --------------------------------------------------------------------------

    def take(self, event: events.Event) -> bool:
        """From SchoolApp.on_event, for each event. True: queued here (the App must not route
        it now). False: route it as usual (not a key from the terminal, or ours to route)."""
        if self._routing.pop(id(event), None) is event:
            return False
        if not self.enabled:
            return False
        if not isinstance(event, (events.Key, events.Paste)) or event.is_forwarded:
            return False
        self._keys.append(event)
        self._run()
        return True

    @property
    def waiting(self) -> int:
        """Keys typed and not routed yet."""
        return len(self._keys)

    # -- the screens' side -----------------------------------------------------------------------

    def hold(self, owner: object, reason: str) -> None:
        """Keep the keys typed from now on until `release(owner, reason)`."""
        self._holds.setdefault((id(owner), reason), (owner, time.monotonic()))

    def release(self, owner: object, reason: str, drop: bool = False) -> None:
        """The answer is on screen: the keys typed meanwhile go on (or, `drop`, are
        dropped: what they were typed for did not come)."""
        if self._holds.pop((id(owner), reason), None) is None:
            return
        if drop:
            self.drop()
        self._wake.set()

    def drop(self) -> None:
        """Forget the keys typed ahead (and every hold): what they were meant for is not
        on screen (an error, a refusal). Says so when there were any."""
        dropped = len(self._keys)
        self._keys.clear()
        self._holds.clear()
        self._wake.set()
        if dropped:
            self.app.notify(
                f"{dropped} key{'s' if dropped != 1 else ''} typed ahead not used: "
                "see the message, then type again.",
                severity="warning",
                markup=False,
            )

    def stop(self) -> None:
        """The app is closing: nothing more to route."""
        self._keys.clear()
        self._routing.clear()
        if self._task is not None:
            self._task.cancel()

    # -- routing, one key at a time --------------------------------------------------------------

    def _run(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._route_keys(), name="type-ahead"
            )

    async def _route_keys(self) -> None:
        while self._keys:
            await self._settled()
            if not self._keys:
                break
            try:
                if self._type_run():
                    continue
            except (AttributeError, TypeError) as exc:  # Textual's internals are not as read
                self._fall_back(f"type-ahead could not type into the Input: {exc!r}")
            event = self._keys.popleft()
            self._routing[id(event)] = event
            # Back on the App's queue: it routes it in its own task, as it would have.
            self.app.post_message(event)

    async def _settled(self) -> None:
        started = time.monotonic()
        spins = 0
        while self.enabled:
            if self._held():
                self._wake.clear()
                try:  # woken by release/drop, or checks the hold's age now and then
                    await asyncio.wait_for(self._wake.wait(), timeout=0.5)
                except TimeoutError:
                    pass
                started = time.monotonic()  # the settle limit counts from the release
                continue
            try:
                quiet = self._quiet()
            except (AttributeError, TypeError) as exc:  # Textual's internals are not as read
                self._fall_back(f"type-ahead could not read Textual's message pumps: {exc!r}")
                return
            if quiet:
                return
            if time.monotonic() - started > SETTLE_LIMIT:
                self.app.log.warning("type-ahead: routing a key before the app settled")
                return
            spins += 1
            # A hop between message pumps takes one turn of the event loop: yield, and only
            # start sleeping when something takes longer (a repaint, a screen mounting).
            await asyncio.sleep(0 if spins < 64 else 0.002)

    def _type_run(self) -> bool:
        """Type the printable keys at the head of the queue into the focused Input at once,
        when a plain Input has focus (see the module's doc). False: route the next key."""
        field = self.app.focused
        if type(field) is not Input or field.loading or field.restrict or field.type != "text":
            return False
        keys = self._keys
        priority = {
            key
            for _node, bindings in field.screen._binding_chain
            for key, found in bindings.key_to_bindings.items()
            if any(binding.priority for binding in found)
        }
        typed: list[str] = []
        for event in keys:
            if (
                not isinstance(event, events.Key)
                or not event.is_printable
                or event.key in priority
                or event.character is None
            ):
                break
            typed.append(event.character)
        if not typed:
            return False
        field._restart_blink()  # (the last read of an internal: the keys are taken after it)
        for _ in typed:
            keys.popleft()
        text = "".join(typed)
        # Input._on_key per key: the first replaces the selection, each inserts at the cursor
        # and moves it on; max_length refuses (with the bell) those that would not fit.
        start, end = sorted(field.selection)
        refused = False
        if field.max_length:
            room = max(0, field.max_length - (len(field.value) - (end - start)))
            refused = len(text) > room
            text = text[:room]
        if text:
            field.replace(text, start, end)
        if refused:
            field.restricted()
        return True

    def _fall_back(self, reason: str) -> None:
        """Route keys as they arrive from now on (the keys waiting here go on in order)."""
        self.enabled = False
        self._holds.clear()
        textual_internals.fall_back(self.app, reason)

    def _held(self) -> bool:
        now = time.monotonic()
        for key, (owner, since) in list(self._holds.items()):
            if not getattr(owner, "is_attached", True):
                del self._holds[key]  # its screen is gone
            elif now - since > HOLD_LIMIT:
                self.app.log.warning(f"type-ahead: hold {key[1]!r} never released")
                self.drop()
                return False
        return bool(self._holds)

    def _quiet(self) -> bool:
        """Every message pump has handled everything it was sent (see the module's doc)."""
        app = self.app
        if not _pump_quiet(app):
            return False
        try:
            current = app.screen
        except Exception:  # no screen yet, or closing: nothing to wait for
            return True
        if current._callbacks:  # call_after_refresh callbacks not run yet
            return False
        for screen in app.screen_stack:
            for node in screen.walk_children(with_self=True):
                if not _pump_quiet(node):
                    return False
        return True


def _pump_quiet(pump: MessagePump) -> bool:
    """The pump has handled all it was sent and waits for more.

    Reads Textual's internals (textual is pinned; the burst tests fail first if they
    change). A pump runs one asyncio task (MessagePump._process_messages_loop) that takes a
    message off its queue (textual._queue.Queue: a deque and an asyncio.Event), dispatches
    it, posting on whatever it causes before it is done, and goes back to wait on the
    event. When this runs, every other task is suspended: a pump whose queue is empty and
    whose task is parked on that event is idle; one suspended anywhere else is busy with a
    message (awaiting an action, a mount). A widget composes and mounts before its loop,
    outside its queue (`_is_mounted` is set after), and `call_next` callbacks wait in a list.
    """
    if pump._closing or pump._closed:
        return True  # going away: it will handle nothing more
    if not pump._is_mounted or pump._next_callbacks:
        return False
    queue = pump.__dict__.get("_message_queue")  # a cached_property: absent until used
    if queue is None:
        return True  # never sent anything
    return not queue.values and bool(queue.ready_event._waiters)


# -- for screens: no-ops outside SchoolApp ----------------------------------------------------


def hold(node: DOMNode, reason: str) -> None:
    """Keep the keys typed from now on until release(node, reason): the answer of the
    database work just started decides where they go."""
    typeahead = getattr(node.app, "typeahead", None)
    if typeahead is not None:
        typeahead.hold(node, reason)


def release(node: DOMNode, reason: str, drop: bool = False) -> None:
    """The answer is shown and focus is where the typist expects it: the keys typed
    meanwhile go on. `drop=True`: it is not what they could expect (a refusal, a choice to
    make): the keys are dropped, with a note."""
    typeahead = getattr(node.app, "typeahead", None)
    if typeahead is not None:
        typeahead.release(node, reason, drop=drop)


def drop(node: DOMNode) -> None:
    """Nothing to do for the key just pressed (a refusal on the spot): the keys typed after
    it were meant for what it would have shown, and are dropped, with a note."""
    typeahead = getattr(node.app, "typeahead", None)
    if typeahead is not None:
        typeahead.drop()
