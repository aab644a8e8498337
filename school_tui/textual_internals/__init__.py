"""Every use of Textual's private surfaces, behind one check.

Five things here read or replace what Textual does not promise to keep: `patches` (a
faster `textual._callback.count_parameters`, and the driver handing events to the app
without a task each), `compositor` (a Screen's `_compositor` that
draws less for a partial update, and a widget's scrollbars updated without a layout),
`typeahead` (reads every message pump's queue to know when a key has settled, and hands
a run of typed characters to the focused Input at once), `paste` (the terminal
parser's bracketed paste kept whole and in order) and `styles` (widgets' default CSS
parsed before they are mounted, while the login waits). Nothing outside this package touches
a `textual._x` module or a Textual object's `_x` attribute.

`SchoolApp` calls `start()` once, before anything uses them: it checks the Textual version
against the one these were written and tested for, and that every surface they read is
there. On any mismatch each of them falls back to Textual's own behaviour (no patch, the
stock compositor, layout and paste parsing, keys routed as they arrive), the reason is
logged, and the person is told once that nothing is lost. Stock behaviour is only
slower, keys typed in a burst land where focus is when they arrive instead of where the
keys before them were taking it, and a paste with an ESC in it is parsed as Textual
parses it (reordered).
"""

from __future__ import annotations

import inspect
import logging
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App

log = logging.getLogger(__name__)

# The Textual release the fence was written against (pyproject pins it); any other one runs
# on stock behaviour, because private code can change meaning without changing names.
TESTED_TEXTUAL = "8.2.8"

NOTICE = (
    "Running on Textual {version} without school-tui's speed-ups and type-ahead. "
    "Nothing is lost: keys go where the cursor is as you type them."
)


@dataclass(frozen=True)
class Fence:
    """The start-up check's verdict: `ok`, or why not (`problems`)."""

    version: str
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


_fence: Fence | None = None
_told: weakref.WeakSet[App[object]] = weakref.WeakSet()  # the apps that showed the notice


def textual_version() -> str:
    """The installed Textual's version, from its `<name>-<version>.dist-info` folder (the
    wheel spec names it so) beside the package: `importlib.metadata`, the usual way, costs
    tens of milliseconds of start-up to import."""
    import textual

    site = Path(textual.__file__).resolve().parent.parent
    found = [p.name for p in site.glob("textual-*.dist-info")]
    if len(found) == 1:
        return found[0].removeprefix("textual-").removesuffix(".dist-info")
    from importlib.metadata import version

    return version("textual")


def _problems() -> list[str]:
    """What the fence needs and this Textual (and Python) does not have."""
    from textual import _callback, _compositor, _parser, _queue, _xterm_parser
    from textual.dom import DOMNode
    from textual.driver import Driver
    from textual.message_pump import MessagePump
    from textual.screen import Screen
    from textual.widget import Widget
    from textual.widgets import Input

    screen: Screen[object] = Screen()  # cheap: nothing runs
    pump = MessagePump()
    queue: _queue.Queue[object] = _queue.Queue()
    needs: list[tuple[str, object, str]] = [
        # patches.py
        ("textual._callback", _callback, "count_parameters"),
        ("Driver", Driver, "send_message"),
        ("MessagePump", MessagePump, "_post_message"),
        # compositor.py
        ("textual._compositor", _compositor, "Compositor"),
        ("Compositor", _compositor.Compositor, "_render_chops"),
        ("Compositor", _compositor.Compositor, "cuts"),
        ("Compositor", _compositor.Compositor, "visible_widgets"),
        ("Screen()", screen, "_compositor"),
        ("Widget", Widget, "_scroll_update"),
        # typeahead.py
        ("MessagePump", MessagePump, "_message_queue"),
        ("Screen()", screen, "_callbacks"),
        ("textual._queue.Queue()", queue, "values"),
        ("textual._queue.Queue()", queue, "ready_event"),
        ("asyncio.Event()", getattr(queue, "ready_event", None), "_waiters"),
        ("Screen", Screen, "_binding_chain"),
        ("Input", Input, "_restart_blink"),
        # styles.py
        ("DOMNode", DOMNode, "_css_bases"),
        ("DOMNode", DOMNode, "_css_type_name"),
        ("DOMNode", DOMNode, "_get_default_css"),
        # paste.py
        ("textual._xterm_parser", _xterm_parser, "XTermParser"),
        ("textual._xterm_parser", _xterm_parser, "BRACKETED_PASTE_START"),
        ("textual._xterm_parser", _xterm_parser, "BRACKETED_PASTE_END"),
        ("textual._parser", _parser, "Peek1"),
    ]
    needs += [
        ("MessagePump()", pump, name)
        for name in ("_next_callbacks", "_is_mounted", "_closing", "_closed")
    ]
    problems = [
        f"{where}.{name} is missing" for where, obj, name in needs if not hasattr(obj, name)
    ]
    if not problems:
        chops = list(inspect.signature(_compositor.Compositor._render_chops).parameters)
        if chops != ["self", "crop", "is_rendered_line"]:
            problems.append(f"Compositor._render_chops takes {chops}")
        parse = list(inspect.signature(_xterm_parser.XTermParser.parse).parameters)
        if parse != ["self", "token_callback"]:
            problems.append(f"XTermParser.parse takes {parse}")
    return problems


def check() -> Fence:
    """Whether this Textual is the one the fence was written for, with every surface it
    reads (computed once, then remembered)."""
    global _fence
    if _fence is None:
        version = textual_version()
        problems: list[str] = []
        if version != TESTED_TEXTUAL:
            problems.append(f"Textual {version}, not {TESTED_TEXTUAL}")
        try:
            problems += _problems()
        except Exception as exc:  # an import or a constructor changed: the same answer
            problems.append(f"checking failed: {exc!r}")
        _fence = Fence(version, tuple(problems))
    return _fence


def active() -> bool:
    """Whether the fenced code may run (the check passed)."""
    return check().ok


def start() -> Fence:
    """SchoolApp, once: check, and install the patches when the check passes."""
    fence = check()
    if fence.ok:
        from school_tui.textual_internals import paste, patches

        patches.install()
        paste.install()
    return fence


def tell(app: App[object], fence: Fence) -> None:
    """Log why the fence is off and tell the person, once per app, that nothing is lost."""
    if fence.ok or app in _told:
        return
    _told.add(app)
    reason = "; ".join(fence.problems)
    log.warning("Textual internals not used, stock behaviour instead: %s", reason)
    app.log.warning(f"Textual internals not used, stock behaviour instead: {reason}")
    app.notify(NOTICE.format(version=fence.version), timeout=10, markup=False)


def fall_back(app: App[object], reason: str) -> None:
    """A fenced surface failed while in use: stock behaviour from now on, said once."""
    global _fence
    current = check()
    _fence = Fence(current.version, (*current.problems, reason))
    tell(app, _fence)
