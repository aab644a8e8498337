"""A form field that breaks a rule: the one shape every check and every refusal takes, so a
form can put the cursor on the field and say why under it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError(ValueError):
    field: str | None  # the form widget's id; None: the form as a whole
    message: str  # "<Label>: <the rule>"

    def __str__(self) -> str:
        return self.message
