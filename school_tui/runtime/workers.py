"""How the UI runs database work: always in a named thread worker that never kills the app.

Worker state messages do not bubble from a screen to the app, so instead of relying on
them, a db_work function that raises hands its exception to SchoolApp.handle_error on the
UI thread: the one place that turns errors into a modal or the connection banner.
"""

from __future__ import annotations

import functools

from textual import work


def db_work(*, name: str, group: str = "db", exclusive: bool = False):
    """Decorate a DOMNode method to run as a named thread worker with error hand-off."""

    def decorator(method):
        def guarded(node, app, *args, **kwargs):
            try:
                return method(node, *args, **kwargs)
            except Exception as exc:
                app.call_from_thread(app.handle_error, exc)
                return None

        as_worker = work(
            thread=True, exit_on_error=False, name=name, group=group, exclusive=exclusive
        )(guarded)

        @functools.wraps(method)
        def start(node, *args, **kwargs):
            # node.app is read here, on the UI thread; the worker thread has no active app.
            return as_worker(node, node.app, *args, **kwargs)

        return start

    return decorator
