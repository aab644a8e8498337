"""The look every dialog shares: a box in the middle of the screen, a bold title, a muted
note, a status line that turns red on an error. `MODAL_CSS.format(name="MyModal")` gives a
ModalScreen subclass that look; a dialog adds its own rules after it."""

from __future__ import annotations

MODAL_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 72; max-width: 100%; height: auto; max-height: 100%;
    border: thick $primary; background: $surface; padding: 0 2;
}}
{name} .modal-title {{ text-style: bold; margin-bottom: 1; }}
{name} .modal-note {{ color: $text-muted; height: auto; }}
{name} .form-status {{ height: auto; min-height: 1; color: $text-muted; }}
{name} .form-status.error {{ color: $error; text-style: bold; }}
{name} Horizontal {{ height: auto; margin-top: 1; }}
{name} #temp-close {{ margin-top: 1; }}
{name} Button {{ margin-right: 2; }}
"""
