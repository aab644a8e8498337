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
again: clear "Saving…", unlock the form): the worker waits for it before it hands the error
to the handler, so the screen's state is set when the handler (a reconnect) runs.

Work that is not a method of a node (a closure, an object that is not a widget: the chat's
toasts, the unread count, an export) starts with `db_task(node, fn, name=...)`: the same
thread worker and error hand-off, run for `node` (a screen, or the app). `deliver` from it
with a callable that is not a node's method hands it to that node's queue.

Messages in runtime/messages.py are for what is not one worker's reply: the app-wide events
(ServerReady, ServerFailed, ConnectionRestored). No other worker posts a message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec

from textual import work
from textual.message_pump import MessagePump
from textual.worker import get_current_worker

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.worker import Worker

P = ParamSpec("P")


def deliver(callback: Callable[P, object], *args: P.args, **kwargs: P.kwargs) -> bool:
    """From a worker: call `callback(*args, **kwargs)` on the UI thread, after the messages
    already queued for its node. False (and nothing happens) when the node is closed or
    closing. The node: the one whose method `callback` is, else the one the worker runs for
    (a closure, or a method of an object that is not a node, from a `db_task`)."""
    node = getattr(callback, "__self__", None)
    if not isinstance(node, MessagePump):
        node = get_current_worker().node
    return node.call_later(callback, *args, **kwargs)


def _guarded(
    app,
    refused: Callable[[Exception], object] | None,
    failed: Callable[[Exception], object] | None,
    work: Callable[[], object],
) -> object:
    """Run `work` in the worker thread; hand a failure to `refused`, or to `failed` (waited
    for) and then the app's one error handler."""
    from school_tui.db.errors import Refused

    try:
        return work()
    except Exception as exc:
        if refused is not None and isinstance(exc, Refused):
            deliver(refused, exc)
            return None
        if failed is not None:
            app.call_from_thread(_if_attached, failed, exc)
        app.call_from_thread(app.handle_error, exc)
        return None


def _if_attached(failed: Callable[[Exception], object], exc: Exception) -> None:
    node = getattr(failed, "__self__", None)
    if not isinstance(node, MessagePump) or node.is_attached:
        failed(exc)


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
            return _guarded(app, refused, failed, lambda: method(node, *args, **kwargs))

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


def db_task(
    node: DOMNode,
    fn: Callable[[], object],
    *,
    name: str,
    group: str = "db",
    exclusive: bool = False,
    on_failed: Callable[[Exception], object] | None = None,
) -> Worker:
    """Run `fn()` as a named thread worker for `node` (a screen, or the app), with
    db_work's error hand-off; `fn` hands its results back with `deliver`."""
    app = node.app
    return node.run_worker(
        lambda: _guarded(app, None, on_failed, fn),
        thread=True,
        exit_on_error=False,
        name=name,
        group=group,
        exclusive=exclusive,
    )
