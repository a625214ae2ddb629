"""Bearer tokens for the JSON API: issued for a username and password, stored only as their SHA-256.

A token is 32 random bytes (URL-safe base64), shown once when it is issued. It lasts `TOKEN_LIFETIME`, stops
working when revoked or when its user is deactivated, and is looked up by its hash, so a copy of the database
gives nobody a usable token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiToken, User

TOKEN_LIFETIME = dt.timedelta(days=30)
# last_used_at is refreshed at most this often, so a busy client does not turn every read into a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)
TOKEN_NAME_MAX = ApiToken.__table__.c.name.type.length


def hash_token(raw: str) -> str:
    """The hex SHA-256 of a token: the only form the database keeps."""
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A newly issued token: `raw` is shown to the client once; `row` is what is stored."""

    raw: str
    row: ApiToken


def issue_token(
    session: Session, user: User, now: dt.datetime, name: str = "", lifetime: dt.timedelta = TOKEN_LIFETIME
) -> IssuedToken:
    """Create a token for `user`, valid for `lifetime` (`TOKEN_LIFETIME` unless another system's key, such as an
    Open311 client's, is issued for longer) from `now`. Flushes; the caller commits."""
    raw = secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=hash_token(raw),
        name=name.strip()[:TOKEN_NAME_MAX],
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return IssuedToken(raw, row)


def find_token(session: Session, raw: str, now: dt.datetime) -> ApiToken | None:
    """The usable token row for `raw`: known, not revoked, not expired, and its user active; else None.

    Marks the token as used (at most every `LAST_USED_RESOLUTION`); the caller commits.
    """
    if not raw:
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(raw))).first()
    if row is None or row.revoked or not row.user.active:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row


def revoke_token(row: ApiToken) -> None:
    """Stop `row` from working (kept, not deleted, so the audit trail can still name it)."""
    row.revoked = True


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None for a missing or other scheme."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
