"""Secrets at rest: SNMP communities, v3 keys, SMTP passwords, robot signing secrets.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key kept outside the
database: ``OPSKIT_ENCRYPTION_KEY`` (or ``_FILE``) if set, else ``<instance>/encryption_key``,
generated (mode 0600) on first use. A database dump alone therefore reveals no secret; back up
the key file with the database. ``EncryptedText`` is the column type; views never render its
value back (forms show "unchanged" placeholders).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app, has_app_context
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from opskit.config import secret_file

PREFIX = "fernet:"


class SecretError(RuntimeError):
    """A stored secret cannot be decrypted (wrong or lost encryption key)."""


def load_or_create_key(instance_path: str | os.PathLike[str], configured: str = "") -> bytes:
    if configured:
        return configured.encode()
    return secret_file(Path(instance_path) / "encryption_key", Fernet.generate_key)


def _fernet() -> Fernet:
    if not has_app_context():
        raise SecretError("secrets can only be read or written inside the opskit app")
    cached = current_app.extensions.get("opskit.fernet")
    if cached is None:
        key = load_or_create_key(
            current_app.instance_path, current_app.config.get("ENCRYPTION_KEY", "")
        )
        try:
            cached = Fernet(key)
        except ValueError as exc:
            raise SecretError(f"invalid encryption key: {exc}") from None
        current_app.extensions["opskit.fernet"] = cached
    return cached


def encrypt(value: str) -> str:
    return PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise SecretError("stored secret is not encrypted")
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise SecretError(
            "cannot decrypt a stored secret: the encryption key differs from the one it was "
            "written with (restore <instance>/encryption_key or OPSKIT_ENCRYPTION_KEY)"
        ) from None


class EncryptedText(TypeDecorator[str]):
    """A text column stored encrypted; Python sees plain text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else decrypt(value)
