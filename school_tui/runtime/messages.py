"""Messages for what is not one worker's reply to the node that started it: the app-wide
events (ServerReady, ServerFailed, ConnectionRestored).

A worker's own result goes back with runtime.workers.deliver (see its docstring)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class ServerReady(Message):
    """The database (embedded or configured) is reachable for logins."""


@dataclass
class ServerFailed(Message):
    error: str


@dataclass
class ConnectionRestored(Message):
    """The lost database connection works again; screens reload what they show."""
