"""Encryption at rest for secrets stored in the database (WeChat tokens, AES keys, app secrets).

The key comes from the configuration (`[security] secret_key_for_data`); the application factory calls
:func:`configure` once. Values are Fernet tokens, so they are authenticated as well as encrypted.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Text, TypeDecorator

_fernet: Fernet | None = None


class SecretKeyMissing(RuntimeError):
    """Raised when a secret column is read or written before a data key is configured."""


def configure(passphrase: str) -> None:
    """Derive the Fernet key from the configured passphrase (any length)."""
    global _fernet
    if not passphrase:
        raise SecretKeyMissing("security.data_key is empty: secrets cannot be stored")
    digest = hashlib.sha256(("qingsu-data-key:" + passphrase).encode()).digest()
    _fernet = Fernet(base64.urlsafe_b64encode(digest))


def _box() -> Fernet:
    if _fernet is None:
        raise SecretKeyMissing("models.crypto.configure() has not been called")
    return _fernet


def encrypt(plain: str) -> str:
    return _box().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _box().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretKeyMissing("a stored secret cannot be decrypted with the configured data key") from exc


class EncryptedString(TypeDecorator[str]):
    """A string column whose value is encrypted before it reaches the database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return decrypt(value)
