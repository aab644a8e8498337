"""Typed messages that workers post back to the UI thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class ServerReady(Message):
    """The database (embedded or configured) is reachable for logins."""


@dataclass
class ServerFailed(Message):
    error: str


@dataclass
class LoginSucceeded(Message):
    session: Any  # school_tui.session.Session


@dataclass
class LoginRefused(Message):
    message: str


@dataclass
class HomeLoaded(Message):
    data: dict


@dataclass
class ConnectionRestored(Message):
    """The lost database connection works again; screens reload what they show."""


# -- chat (screens/chat.py) ----------------------------------------------------------------------


@dataclass
class ConversationsLoaded(Message):
    rows: list  # list[db.chat.Conversation], newest first


@dataclass
class HistoryLoaded(Message):
    partner_id: int
    mode: str  # 'latest', 'older' (newest first), 'newer' (oldest first), 'failed' (none)
    rows: list  # list[db.chat.ChatMessage]


@dataclass
class ContactsFound(Message):
    query: str
    role: str | None
    rows: list  # list[db.chat.Contact]


@dataclass
class MessageSent(Message):
    partner_id: int
    rows: list  # the sent message as read back (db.chat.ChatMessage), for the pane


@dataclass
class SendFailed(Message):
    partner_id: int


@dataclass
class MarkedRead(Message):
    ids: list  # message ids whose marking finished (or failed)
