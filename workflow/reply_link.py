"""The signed link to a citizen's reply page (`bot.reply_page`), which the 'replied' template message carries.

The token is the petition's and citizen's ids signed with the application's ``SECRET_KEY`` (itsdangerous, HMAC-SHA1
under a salt of its own): nobody can make one for another petition. The page's address is ``[web] public_base_url``;
empty, the demo uses the address the site is served on (learnt from its first request, `wechat.api.SERVED_BASE_URL`).
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask
from itsdangerous import BadSignature, URLSafeSerializer

from models import Petition
from wechat.api import SERVED_BASE_URL

log = logging.getLogger(__name__)

SALT = "qingsu.reply-page"


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT)


def sign(secret_key: str, petition_id: int, citizen_id: int) -> str:
    """The token of the reply page of one petition for its citizen."""
    return str(_serializer(secret_key).dumps([petition_id, citizen_id]))


def read_token(secret_key: str, token: str) -> tuple[int, int] | None:
    """The (petition id, citizen id) a token was signed for; None for a token this site did not sign."""
    try:
        value = _serializer(secret_key).loads(token)
    except BadSignature:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return None
    return value[0], value[1]


def base_url(app: Flask) -> str | None:
    """``[web] public_base_url``, else (demo) the address the site was first served on; None when unknown."""
    configured = str(app.config["WEB"].get("public_base_url") or "").rstrip("/")
    return configured or app.extensions.get(SERVED_BASE_URL)


def reply_url(app: Flask, petition_id: int, citizen_id: int) -> str | None:
    """The absolute address of the reply page, or None (with a warning) when the site's address is not known."""
    base = base_url(app)
    if base is None:
        log.warning("[web] public_base_url is not set: the reply message goes without its link to the reply page")
        return None
    return f"{base}/r/{sign(app.config['SECRET_KEY'], petition_id, citizen_id)}"


def link_expires_at(petition: Petition, grace: dt.timedelta) -> dt.datetime | None:
    """When the page of `petition` stops opening: its closing plus the grace period (None while it is open)."""
    return petition.closed_at + grace if petition.closed_at is not None else None
