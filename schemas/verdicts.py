"""What validation answers: `Accepted(event)` or `Rejected(errors)`, each error naming its field and reason."""
from __future__ import annotations

from dataclasses import dataclass

from schemas.events import Touch


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Accepted:
    event: Touch


@dataclass(frozen=True, slots=True)
class Rejected:
    errors: tuple[FieldError, ...]

    def reasons(self) -> list[dict[str, str]]:
        return [e.as_dict() for e in self.errors]
