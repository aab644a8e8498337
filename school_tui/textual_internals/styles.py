"""The default CSS of widgets parsed before any of them is mounted.

Textual parses a widget class's DEFAULT_CSS (and its bases') when the first widget of that
class is mounted, and then parses the whole stylesheet again and maps its selectors anew.
For a home screen, whose title bar, tabs, table and footer are new after the login form,
that was about a sixth of the UI thread's work from the login to the home's first frame.
`warm` adds the same sources, exactly as a mount adds them (`DOMNode._get_default_css`:
location, text, tie-breaker, scope), and parses them at a moment chosen by the caller: the
login's key derivation, while the UI thread waits. A mount later finds its sources there
already and parses nothing.

Reads `DOMNode._css_bases` and `_css_type_name` (Textual 8.2); off (nothing is done, the
widgets' mounts parse as usual) when the start-up check failed.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator

from textual.app import App
from textual.dom import DOMNode

from school_tui import textual_internals


def default_css(cls: type[DOMNode]) -> Iterator[tuple[tuple[str, str], str, int, str]]:
    """What mounting a `cls` adds to the stylesheet: (location, css, tie-breaker, scope) for
    the class and each base it inherits CSS from, as DOMNode._get_default_css has it."""
    for tie_breaker, base in enumerate(cls._css_bases(cls)):
        css: str = base.__dict__.get("DEFAULT_CSS", "")
        if not css:
            continue
        scoped: bool = base.__dict__.get("SCOPED_CSS", True)
        try:
            location = (inspect.getfile(base), f"{base.__name__}.DEFAULT_CSS")
        except (TypeError, OSError):
            location = ("", f"{base.__name__}.DEFAULT_CSS")
        yield location, css, -tie_breaker, base._css_type_name if scoped else ""


def warm(app: App[object], classes: Iterable[type[DOMNode]]) -> None:
    """Add the default CSS of `classes` to the app's stylesheet and parse it now. UI thread."""
    if not textual_internals.active():
        return
    stylesheet = app.stylesheet
    for cls in classes:
        for location, css, tie_breaker, scope in default_css(cls):
            stylesheet.add_source(
                css,
                read_from=location,
                is_default_css=True,
                tie_breaker=tie_breaker,
                scope=scope,
            )
    stylesheet.rules_map  # noqa: B018 -- parses the sources and maps the selectors, now
