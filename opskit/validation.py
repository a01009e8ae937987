"""Validation errors keyed by field, shared by every domain's services, forms and importers."""

from __future__ import annotations

from collections.abc import Mapping


class ValidationFailed(ValueError):
    """One or more fields are wrong; ``errors`` maps each field to its messages."""

    def __init__(self, errors: Mapping[str, list[str] | str]) -> None:
        self.errors: dict[str, list[str]] = {
            field: [messages] if isinstance(messages, str) else list(messages)
            for field, messages in errors.items()
        }
        super().__init__(
            "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in self.errors.items())
        )

    @classmethod
    def one(cls, field: str, message: str) -> ValidationFailed:
        return cls({field: [message]})
