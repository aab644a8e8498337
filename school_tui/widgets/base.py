"""The screens' base classes: Textual's Screen and ModalScreen whose `app` is a SchoolApp.

Only the type changes (as Textual's MessagePump declares its own `app`, for the type checker
only): at run time `app` is Textual's own property, so a screen mounted in
another App (a test's) works as before. `SchoolApp` is imported for the type checker only:
app.py imports the screens, so a run-time import would be a cycle.

A mixin that needs a screen's attributes subclasses `ScreenMixin`: a SchoolScreen for the
type checker, a plain object at run time, so it adds no class to the screen's CSS type
names and no second Screen to its method resolution order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from textual import getters

    from school_tui.app import SchoolApp

ResultType = TypeVar("ResultType")


class SchoolScreen(Screen[ResultType]):
    """A full screen of the app."""

    if TYPE_CHECKING:
        app = getters.app(SchoolApp)


class SchoolModal(ModalScreen[ResultType]):
    """A dialog over the screen below."""

    if TYPE_CHECKING:
        app = getters.app(SchoolApp)


if TYPE_CHECKING:
    ScreenMixin = SchoolScreen
else:
    ScreenMixin = object
