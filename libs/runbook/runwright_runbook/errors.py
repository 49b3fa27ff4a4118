"""What is wrong with a runbook: one :class:`FieldError` per problem, all of them at once."""

from __future__ import annotations

import msgspec


class FieldError(msgspec.Struct, frozen=True):
    """A problem and the path of the field it is in (``steps[2].action.type``)."""

    field: str
    message: str


class RunbookInvalid(ValueError):
    """A runbook that cannot run, with every error found (not only the first)."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
