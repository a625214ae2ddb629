"""Password hashing for staff accounts (argon2id through argon2-cffi).

The demo seed and the admin site's login share these two functions, so a hash written by one
is always readable by the other.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# One hasher with argon2-cffi's current defaults (RFC 9106 low-memory profile); module level so
# the parameters are chosen in one place.
_hasher = PasswordHasher()


def hash_password(plain: str) -> str:
    """Hash ``plain`` with argon2id and return the encoded hash (salt and parameters included).

    :raises ValueError: if ``plain`` is empty — an empty password is never a valid staff password.
    """
    if not plain:
        raise ValueError("password must not be empty")
    return _hasher.hash(plain)


def verify_password(password_hash: str | None, plain: str) -> bool:
    """Return True when ``plain`` matches ``password_hash``.

    A missing or malformed hash (an account created without a password) never matches, so callers
    need not special-case it.
    """
    if not password_hash or not plain:
        return False
    try:
        return _hasher.verify(password_hash, plain)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Return True when ``password_hash`` was made with older parameters and should be replaced at login."""
    return _hasher.check_needs_rehash(password_hash)
