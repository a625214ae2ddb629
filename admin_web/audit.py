"""The audit trail of administrative actions (AuditLog rows): logins, lockouts, exports, managers' changes.

Petition transitions are not written here: the workflow records each of them as a PetitionEvent.
"""

from __future__ import annotations

from flask import has_request_context, request
from sqlalchemy.orm import Session

from models import AuditLog, User, utcnow

_MAX_DETAIL = 1000
_MAX_TARGET = 120


def audit(
    session: Session,
    user: User | None,
    action: str,
    target: str = "",
    detail: str = "",
    ip: str | None = None,
) -> AuditLog:
    """Add one AuditLog row to `session` (the caller commits with the change it records).

    `ip` defaults to the current request's client address, so views need not pass it; long details are cut
    to the column's size rather than failing the action they describe.
    """
    if ip is None and has_request_context():
        ip = client_ip()
    row = AuditLog(
        user_id=user.id if user is not None else None,
        action=action,
        target=target[:_MAX_TARGET],
        detail=detail[:_MAX_DETAIL],
        ip=ip,
        created_at=utcnow(),
    )
    session.add(row)
    return row


def client_ip() -> str | None:
    """The client's address as the WSGI server saw it.

    X-Forwarded-For is deliberately not trusted here: a deployment behind a proxy wraps the app in
    werkzeug's ProxyFix, which sets remote_addr from the header only for the proxies it is told to trust.
    """
    return request.remote_addr
