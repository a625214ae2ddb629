"""Encryption at rest for secrets stored in the database (WeChat tokens, AES keys, app secrets).

The key comes from the configuration (`[security] data_key`, or QINGSU_DATA_KEY); the application factory calls
:func:`configure` once. Values are Fernet tokens, so they are authenticated as well as encrypted.
:func:`rotate` re-encrypts every stored value from an old passphrase to a new one (`qingsu secrets rotate-data-key`).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection, MetaData, Text, TypeDecorator, column, select, table

_fernet: Fernet | None = None


class SecretKeyMissing(RuntimeError):
    """Raised when a secret column is read or written before a data key is configured."""


def fernet_for(passphrase: str) -> Fernet:
    """The Fernet key derived from a data-key passphrase (any length)."""
    if not passphrase:
        raise SecretKeyMissing("security.data_key is empty: secrets cannot be stored")
    digest = hashlib.sha256(("qingsu-data-key:" + passphrase).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def configure(passphrase: str) -> None:
    """Derive the Fernet key from the configured passphrase (any length)."""
    global _fernet
    _fernet = fernet_for(passphrase)


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


# --- key rotation --------------------------------------------------------------------------------------------------


@dataclass
class Rotation:
    """What :func:`rotate` did: values re-encrypted and values already under the new key, by "table.column"."""

    rotated: dict[str, int] = field(default_factory=dict)
    already_new: dict[str, int] = field(default_factory=dict)

    @property
    def total_rotated(self) -> int:
        return sum(self.rotated.values())


def encrypted_columns(metadata: MetaData) -> list[tuple[str, list[str], str]]:
    """(table, primary-key columns, column) for every `EncryptedString` column of `metadata`."""
    found = []
    for tbl in metadata.sorted_tables:
        keys = [c.name for c in tbl.primary_key.columns]
        found.extend((tbl.name, keys, c.name) for c in tbl.columns if isinstance(c.type, EncryptedString))
    return found


def rotate(connection: Connection, metadata: MetaData, old_passphrase: str, new_passphrase: str) -> Rotation:
    """Re-encrypt every stored secret from `old_passphrase` to `new_passphrase` on `connection`.

    Run it in one transaction (the caller begins and commits it): an interruption leaves every value under the old
    key. A value that already opens with the new key is left as it is, so running it again after a success (or on a
    database that is partly under the new key) is harmless.

    :raises SecretKeyMissing: a stored value opens with neither key; nothing is changed (the caller rolls back).
    """
    old, new = fernet_for(old_passphrase), fernet_for(new_passphrase)
    result = Rotation()
    for table_name, keys, name in encrypted_columns(metadata):
        # Lightweight table objects with plain Text columns: read and write the stored ciphertext as it is.
        raw = table(table_name, *(column(k) for k in keys), column(name, Text))
        label = f"{table_name}.{name}"
        result.rotated[label] = result.already_new[label] = 0
        rows = connection.execute(
            select(*(raw.c[k] for k in keys), raw.c[name]).where(raw.c[name].is_not(None))
        )
        for row in rows.all():
            stored: str = row[-1]
            try:
                new.decrypt(stored.encode())
            except InvalidToken:
                pass
            else:
                result.already_new[label] += 1
                continue
            try:
                plain = old.decrypt(stored.encode())
            except InvalidToken as exc:
                where = ", ".join(f"{k}={row[i]}" for i, k in enumerate(keys))
                raise SecretKeyMissing(
                    f"{label} ({where}) opens with neither the old nor the new key"
                ) from exc
            condition = [raw.c[k] == row[i] for i, k in enumerate(keys)]
            connection.execute(raw.update().where(*condition).values({name: new.encrypt(plain).decode()}))
            result.rotated[label] += 1
    return result
