"""How the UI runs database work, and the one way a worker hands its results back.

Running: a `@db_work` method runs as a named thread worker that never kills the app. Worker
state messages do not bubble from a screen to the app, so instead of relying on them, a
db_work method that raises hands its exception to SchoolApp.handle_error on the UI thread:
the one place that turns errors into a modal or the connection banner.

Handing back: from the worker thread, `deliver(self.method, *args)` runs the node's method
with the result on the UI thread, in order with the node's other messages, and not at all
once the node is gone (a screen closed meanwhile). No message class per result:

    @db_work(name="section save", group="section-save", on_refused="_refused")
    def _save(self, values: dict) -> None:
        section_id = self.session.run(lambda conn: sections.create_section(conn, **values))
        deliver(self._saved, section_id)

    def _saved(self, section_id: int) -> None:  # the UI thread
        self.dismiss(section_id)

The database's refusals (db.errors.Refused) go to the method named by `on_refused`, when
given, instead of the error handler: the form shows them by the field. What this login may
not do (NotAllowed) stays with the handler ("Not allowed"), unless the worker catches it.
`on_failed` names a method that hears of any other failure first (to make the screen usable
again: clear "Saving…", unlock the form) before the handler shows the error.

Messages in runtime/messages.py are for what is not one worker's reply: the app-wide events
(ServerReady, ServerFailed, ConnectionRestored).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec

from textual import work

P = ParamSpec("P")


def deliver(callback: Callable[P, object], *args: P.args, **kwargs: P.kwargs) -> bool:
    """From a worker: call the bound method `callback(*args, **kwargs)` on the UI thread,
    after the messages already queued for its node. False (and nothing happens) when the node
    is closed or closing."""
    node = callback.__self__  # type: ignore[attr-defined]  # a bound method of a DOM node
    return node.call_later(callback, *args, **kwargs)


def db_work(
    *,
    name: str,
    group: str = "db",
    exclusive: bool = False,
    on_refused: str | None = None,
    on_failed: str | None = None,
):
    """Decorate a DOMNode method to run as a named thread worker with error hand-off.
    `on_refused` / `on_failed`: names of the node's methods that receive a refusal / hear of
    any other failure (see the module's docstring)."""

    def decorator(method):
        def guarded(node, app, refused, failed, *args, **kwargs):
            from school_tui.db.errors import Refused

            try:
                return method(node, *args, **kwargs)
            except Refused as exc:
                if refused is not None:
                    deliver(refused, exc)
                    return None
                if failed is not None:
                    deliver(failed, exc)
                app.call_from_thread(app.handle_error, exc)
                return None
            except Exception as exc:
                if failed is not None:
                    deliver(failed, exc)
                app.call_from_thread(app.handle_error, exc)
                return None

        as_worker = work(
            thread=True, exit_on_error=False, name=name, group=group, exclusive=exclusive
        )(guarded)

        @functools.wraps(method)
        def start(node, *args: Any, **kwargs: Any):
            # Read here, on the UI thread: the worker thread has no active app, and a
            # misspelt callback name fails now, where it is written.
            refused = getattr(node, on_refused) if on_refused else None
            failed = getattr(node, on_failed) if on_failed else None
            return as_worker(node, node.app, refused, failed, *args, **kwargs)

        return start

    return decorator
