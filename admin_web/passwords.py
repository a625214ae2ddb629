"""Password hashing for staff accounts (argon2id through argon2-cffi), and the password policy.

The demo seed and the admin site's login share the hashing functions, so a hash written by one
is always readable by the other. `password_problem` is the one policy every place that sets a password applies
(the managers' user form, the change-password page, `qingsu users create`); the demo users' shared password
(`qingsu-demo`) is set by the demo seed only, in demo mode, and is exempt.
"""

from __future__ import annotations

import re
import secrets
import string
from functools import cache
from pathlib import Path

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


# --- policy ----------------------------------------------------------------------------------------------------------

MIN_LENGTH = 12
# A passphrase of ordinary words (e.g. "correct horse battery staple") needs no mix of character classes.
PASSPHRASE_LENGTH = 20
MIN_DISTINCT = 6
PASSPHRASE_DISTINCT = 10
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common_passwords.txt"
# What people put around a common word to pass a checker: "Password123!", "!!qingdao2026".
_DECORATION = re.compile(r"^[\d\W_]+|[\d\W_]+$")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower case."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def character_classes(password: str) -> int:
    """How many of lower-case letters, upper-case letters, digits and everything else `password` uses."""
    return sum(
        (
            any(c in string.ascii_lowercase for c in password),
            any(c in string.ascii_uppercase for c in password),
            any(c in string.digits for c in password),
            any(not (c.isascii() and c.isalnum()) for c in password),
        )
    )


def password_problem(password: str, *, username: str = "", display_name: str = "") -> str | None:
    """Why `password` may not be a staff password, in Chinese, or None when it is acceptable.

    The policy: at least 12 characters; not the username or the name (nor containing them); not a common password
    (the shipped list, also with digits or symbols added around it); at least three of lower case, upper case,
    digits and other characters, or else a passphrase of at least 20 characters; at least six different
    characters (ten for a passphrase), so ``Aa1Aa1Aa1Aa1`` or twenty ``a`` do not pass.
    """
    if len(password) < MIN_LENGTH:
        return f"密码至少{MIN_LENGTH}位"
    lowered = password.lower()
    for own in (username.strip().lower(), display_name.strip().lower()):
        if own and (lowered == own or (len(own) >= 3 and own in lowered)):
            return "密码不能包含用户名或姓名"
    core = _DECORATION.sub("", lowered)
    if lowered in common_passwords() or core in common_passwords() or not core:
        return "密码过于常见，请换一个不易猜到的密码"
    distinct = len(set(password))
    if len(password) >= PASSPHRASE_LENGTH and distinct >= PASSPHRASE_DISTINCT:
        return None
    if character_classes(password) < 3:
        return (
            f"密码须包含大写字母、小写字母、数字和符号中的至少三类（或使用至少{PASSPHRASE_LENGTH}位的短语）"
        )
    if distinct < MIN_DISTINCT:
        return f"密码至少要有{MIN_DISTINCT}个不同的字符"
    return None


def generated_password() -> str:
    """A random password that meets the policy (for a manager's reset; the user must change it at sign-in)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(16))
        if password_problem(candidate) is None:
            return candidate
