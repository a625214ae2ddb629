"""Which petitions a staff member may see, and which citizens' phone numbers they may read in full.

Scope, by role:

* city platform roles (市级平台调度, 市平台管理员, 市领导, 12345热线平台) see every district;
* district platform roles (区平台调度, 区平台管理员) see their own district only;
* unit roles (承办人, 承办单位科室负责人) see only their unit's work: petitions the unit holds now, leads or
  cooperates on as a 执法 unit, or raised itself (a 执法 petition entered by the unit).

A petition outside the scope answers 404, never 403, so petition numbers cannot be probed.

Phone numbers: the roles that must call the petitioner read them in full — the district and city dispatchers
(who check details and explain rejections) and the handlers (承办人, who handle the matter with the petitioner).
Every other role (reviewers, managers, leadership, the hotline) sees them masked as 138****1234, in the contact
fields and inside the petition text.
"""

from __future__ import annotations

import re

from flask import abort
from sqlalchemy import ColumnElement, Select, false, or_, select, true, union
from sqlalchemy.orm import Session

from models import Petition, User, petition_cooperating_unit
from models.enums import Role

CITY_WIDE_ROLES = frozenset({Role.CITY_DISPATCHER, Role.CITY_MANAGER, Role.LEADER, Role.HOTLINE})
DISTRICT_ROLES = frozenset({Role.DISPATCHER, Role.DISTRICT_MANAGER})
UNIT_ROLES = frozenset({Role.HANDLER, Role.UNIT_REVIEWER})
PHONE_READERS = frozenset({Role.DISPATCHER, Role.CITY_DISPATCHER, Role.HANDLER})

# Phone numbers inside free text, matched on a copy of the text with full-width digits and separators made ASCII
# (one character for one, so positions agree with the original). A separator is one space, dash or dot.
_SEP = r"[ \-.]?"
# Mainland mobile numbers: 11 digits from 13x to 19x in groups of 3-4-4, optionally after +86, 0086 or 86.
_MOBILE = (
    rf"(?P<prefix>(?:\+|00)?86{_SEP})?(?P<head>1[3-9]\d){_SEP}(?P<middle>\d{{4}}){_SEP}(?P<tail>\d{{4}})"
)
# Landlines with their area code: 010 and 02x have eight-digit local numbers, the other (four-digit) area codes seven
# or eight; local numbers do not start with 0 or 1. The area code may stand in brackets.
_LANDLINE = (
    rf"(?P<area>\(?0(?:10|2\d)\)?){_SEP}(?P<local8>[2-9]\d{{3}}{_SEP}\d{{4}})"
    rf"|(?P<area4>\(?0[3-9]\d{{2}}\)?){_SEP}(?P<local>[2-9]\d{{2,3}}{_SEP}\d{{4}})"
)
_PHONE_IN_TEXT = re.compile(rf"(?<![\d+])(?:{_MOBILE}|{_LANDLINE})(?!\d)")
_TO_ASCII = str.maketrans(
    {
        **{chr(0xFF10 + n): str(n) for n in range(10)},
        "\uff0b": "+",
        "\uff0d": "-",
        "\uff0e": ".",
        "\u3000": " ",
        "\uff08": "(",
        "\uff09": ")",
    }
)


def petition_scope(user: User, listing: bool = False) -> ColumnElement[bool]:
    """A WHERE clause on Petition that admits exactly the petitions `user` may see.

    For a unit role the clause takes one of two forms that admit the same petitions: an OR of the unit's four
    links, cheap beside a lookup of one petition (by id or number), or with `listing` the ids from four index
    lookups (UNION), for lists: over a million petitions the OR, with the cooperating units' subquery in it,
    makes every list a scan of the whole table. UNION, not UNION ALL: the distinct ids give PostgreSQL an estimate
    of their number and a hashed set it builds once, where UNION ALL let it rescan the lookups for every row of a
    short list.
    """
    if not user.active:
        return false()
    if user.role in UNIT_ROLES:
        if user.unit_id is None:
            return false()
        unit = user.unit_id
        cooperating = select(petition_cooperating_unit.c.petition_id).where(
            petition_cooperating_unit.c.unit_id == unit
        )
        if listing:
            return Petition.id.in_(
                union(
                    select(Petition.id).where(Petition.current_unit_id == unit).correlate(None),
                    select(Petition.id).where(Petition.lead_unit_id == unit).correlate(None),
                    select(Petition.id).where(Petition.origin_unit_id == unit).correlate(None),
                    cooperating,
                )
            )
        return or_(
            Petition.current_unit_id == unit,
            Petition.lead_unit_id == unit,
            Petition.origin_unit_id == unit,
            Petition.id.in_(cooperating),
        )
    if user.role in CITY_WIDE_ROLES:
        return true()
    if user.role in DISTRICT_ROLES and user.district_code is not None:
        return Petition.district_code == user.district_code
    return false()


def scoped_petitions(user: User) -> Select[tuple[Petition]]:
    """``select(Petition)`` limited to what `user` may see, for a list; add filters and ordering to it."""
    return select(Petition).where(petition_scope(user, listing=True))


def can_see(user: User, petition: Petition, session: Session) -> bool:
    """Whether `petition` is inside `user`'s scope."""
    return (
        session.scalar(select(Petition.id).where(Petition.id == petition.id, petition_scope(user)))
        is not None
    )


def petition_or_404(session: Session, user: User, number: str) -> Petition:
    """The petition with this number if `user` may see it.

    :raises werkzeug.exceptions.NotFound: when it does not exist or is outside the scope (the same answer for both).
    """
    petition = session.scalars(
        select(Petition).where(Petition.number == number.strip().upper(), petition_scope(user))
    ).first()
    if petition is None:
        abort(404)
    return petition


def district_codes_visible(user: User) -> list[str] | None:
    """The districts whose data `user` may see: None means all of them."""
    if user.role in CITY_WIDE_ROLES:
        return None
    return [user.district_code] if user.district_code else []


def reads_phone_numbers(user: User) -> bool:
    """Whether `user`'s role must call petitioners and so sees their numbers unmasked."""
    return user.role in PHONE_READERS


def mask_phone(phone: str | None) -> str:
    """``13812341234`` → ``138****1234``; shorter numbers keep only their last two digits visible."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def mask_text(text: str) -> str:
    """`text` with every phone number in it masked (citizens often write their number into the petition).

    Caught: mobile numbers (``13912341234``, ``139 1234 5678``, ``139.1234.5678``, ``+86 139…``, ``8613912341234``)
    and landlines with an area code (``0532-88886666``, ``(0532)8888 6666``), also written in full-width digits.
    Dates, house numbers, petition numbers and longer digit runs (order numbers) are left alone: a match may not
    touch another digit. A masked number keeps its first three (mobile) or area code (landline) and last four digits.
    """
    plain = text.translate(_TO_ASCII)
    pieces: list[str] = []
    end = 0
    for match in _PHONE_IN_TEXT.finditer(plain):
        pieces.append(text[end : match.start()])
        if match.group("head"):
            masked = f"{match.group('prefix') or ''}{match.group('head')}****{match.group('tail')}"
        else:
            area = match.group("area") or match.group("area4")
            local = re.sub(r"\D", "", match.group("local8") or match.group("local"))
            masked = f"{area}{'' if area.endswith(')') else '-'}{'*' * (len(local) - 4)}{local[-4:]}"
        pieces.append(masked)
        end = match.end()
    pieces.append(text[end:])
    return "".join(pieces)


def phone_for(user: User, phone: str | None) -> str:
    """A petitioner's phone number as `user` may see it."""
    if not phone:
        return ""
    return phone if reads_phone_numbers(user) else mask_phone(phone)


def text_for(user: User, text: str | None) -> str:
    """Free text written by a petitioner, with phone numbers masked for roles that may not read them."""
    if not text:
        return ""
    return text if reads_phone_numbers(user) else mask_text(text)
