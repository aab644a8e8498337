"""Small fixes to Textual 8.2's hot paths, installed once by SchoolApp (pyproject pins 8.2.8).

`count_parameters`: every `call_later`, `call_next` and `call_after_refresh` wraps its
callback in a new `functools.partial`, and Textual caches a callback's parameter count on
the callback object, so for a partial it ran `inspect.signature` on every call: about a
twentieth of the UI thread's time while chat messages arrive. Here a partial's count is
its function's (cached on that function, as Textual does for functions and methods) less
what the partial binds: the same number.
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
    _installed = True
