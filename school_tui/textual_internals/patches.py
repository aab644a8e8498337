"""Small fixes to Textual 8.2's hot paths, installed once by SchoolApp (pyproject pins 8.2.8).

`count_parameters`: every `call_later`, `call_next` and `call_after_refresh` wraps its
callback in a new `functools.partial`, and Textual caches a callback's parameter count on
the callback object, so for a partial it ran `inspect.signature` on every call: about a
twentieth of the UI thread's time while chat messages arrive. Here a partial's count is
its function's (cached on that function, as Textual does for functions and methods) less
what the partial binds: the same number.

`Driver.send_message`: the terminal driver's thread hands every event it reads to the app
with `asyncio.run_coroutine_threadsafe(app._post_message(event))`, a coroutine, a Future
and a Task per key, a good part of what a burst of keys costs (10,000 keys from `tmux
send-keys`: seconds). Here it is `loop.call_soon_threadsafe(app.post_message, event)`: the
same call (`_post_message` only calls `post_message`), in the same order (the loop runs
callbacks first in, first out), without the task.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from textual import _callback

    original = _callback.count_parameters

    def count_parameters(func: Callable[..., Any]) -> int:
        if isinstance(func, partial):
            try:
                return count_parameters(func.func) - (len(func.args) + len(func.keywords))
            except AttributeError:  # a callable that takes no attribute (a builtin): as before
                pass
        return original(func)

    _callback.count_parameters = count_parameters

    from textual.driver import Driver

    stock_send = Driver.send_message

    def send_message(self: Driver, message: Any) -> None:
        try:
            loop, app = self._loop, self._app
        except AttributeError:  # a driver not built as Driver builds it: as before
            stock_send(self, message)
            return
        loop.call_soon_threadsafe(app.post_message, message)

    Driver.send_message = send_message  # type: ignore[method-assign]
    _installed = True
