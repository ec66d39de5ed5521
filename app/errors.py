"""Errors a user can act on. The command line turns them into exit code 2 and one line each;
the window shows them next to the field they name."""

from __future__ import annotations

from dataclasses import dataclass


class UserError(Exception):
    """Something the user must fix; the message is already translated."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field of one record."""

    field: str
    message: str
    record_type: str = ""
    record_id: str = ""

    def __str__(self) -> str:
        where = " ".join(p for p in (self.record_type, self.record_id) if p)
        prefix = f"{where}: " if where else ""
        return f"{prefix}{self.field}: {self.message}" if self.field else f"{prefix}{self.message}"


class ValidationError(UserError):
    """One or more problems; nothing was written."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def by_field(self) -> dict[str, str]:
        return {p.field: p.message for p in self.problems}


class NotFound(UserError):
    """A record named by the user does not exist."""
