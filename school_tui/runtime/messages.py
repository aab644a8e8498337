"""Messages for what is not one worker's reply to the node that started it: app-wide events
(ServerReady, LoginSucceeded, ConnectionRestored) and results that are still messages.

A worker's own result goes back with runtime.workers.deliver (see its docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from school_tui.runtime.session import Session


@dataclass
class ServerReady(Message):
    """The database (embedded or configured) is reachable for logins."""


@dataclass
class ServerFailed(Message):
    error: str


@dataclass
class LoginSucceeded(Message):
    session: Session


@dataclass
class LoginRefused(Message):
    message: str


@dataclass
class HomeLoaded(Message):
    data: dict
    since: int = 0  # LivePresence.since() when the load began


@dataclass
class ConnectionRestored(Message):
    """The lost database connection works again; screens reload what they show."""
