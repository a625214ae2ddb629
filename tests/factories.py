"""Test factories with callable defaults: each call makes a new, valid object and flushes it."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from models import Citizen, District, Petition, Unit, User, WechatAccount
from models.district import TEN_DISTRICTS
from models.enums import CitizenKind, DeptType, PetitionKind, Role, UnitLevel
from workflow.intake import submit_petition

_counter = itertools.count(1)
DISTRICT_ROWS = {row[0]: row for row in TEN_DISTRICTS}
# Monday 2026-11-23 10:00 Asia/Shanghai, a plain working week with no holidays.
MONDAY_10AM = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


def make_district(session: Session, code: str = "shinan", *, with_platform: bool = True) -> District:
    """One of the ten districts (idempotent), with its platform unit."""
    district = session.get(District, code)
    if district is None:
        _, name, platform, abbreviation = DISTRICT_ROWS[code]
        district = District(code=code, name=name, platform_name=platform, abbreviation=abbreviation,
                            position=list(DISTRICT_ROWS).index(code))
        session.add(district)
        session.flush()
    if with_platform and not any(
        u.level == UnitLevel.DISTRICT_PLATFORM
        for u in session.query(Unit).filter_by(district_code=code, level=UnitLevel.DISTRICT_PLATFORM)
    ):
        session.add(Unit(name=f"{district.name}{district.platform_name}平台", level=UnitLevel.DISTRICT_PLATFORM,
                         district_code=code))
        session.flush()
    return district


def make_account(session: Session, code: str = "shinan", **overrides: Any) -> WechatAccount:
    make_district(session, code)
    values: dict[str, Any] = {
        "district_code": code,
        "appid": f"wxtest{code}{next(_counter):04d}",
        "token": f"{code}token",
        "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "secret": f"{code}-secret",
    }
    values.update(overrides)
    account = WechatAccount(**values)
    session.add(account)
    session.flush()
    return account


def make_unit(
    session: Session,
    level: UnitLevel = UnitLevel.DISTRICT_DEPARTMENT,
    *,
    district_code: str | None = "shinan",
    dept_type: DeptType | None = None,
    parent: Unit | None = None,
    name: str | None = None,
) -> Unit:
    if district_code:
        make_district(session, district_code)
    unit = Unit(
        name=name or f"{level.label}{next(_counter)}",
        level=level,
        district_code=district_code,
        dept_type=dept_type,
        parent=parent,
    )
    session.add(unit)
    session.flush()
    return unit


def make_city_platform(session: Session) -> Unit:
    existing = session.query(Unit).filter_by(level=UnitLevel.CITY_PLATFORM).first()
    return existing or make_unit(session, UnitLevel.CITY_PLATFORM, district_code=None, name="青诉即办市级平台")


def make_user(
    session: Session,
    role: Role = Role.DISPATCHER,
    *,
    district_code: str | None = "shinan",
    unit: Unit | None = None,
    username: str | None = None,
    password_hash: str = "!",
) -> User:
    if unit is not None:
        district_code = unit.district_code
    user = User(
        username=username or f"{role.value}{next(_counter)}",
        display_name=f"{role.label}{next(_counter)}",
        password_hash=password_hash,
        role=role,
        district_code=district_code,
        unit=unit,
    )
    session.add(user)
    session.flush()
    return user


def make_citizen(
    session: Session, code: str = "shinan", *, kind: CitizenKind = CitizenKind.PERSON, **overrides: Any
) -> Citizen:
    make_district(session, code)
    citizen = Citizen(district_code=code, openid=overrides.pop("openid", f"openid-{next(_counter)}"), kind=kind,
                      **overrides)
    session.add(citizen)
    session.flush()
    return citizen


def make_petition(
    session: Session,
    *,
    district_code: str = "shinan",
    kind: PetitionKind = PetitionKind.LIVELIHOOD,
    content: str = "小区楼下烧烤摊每天营业到凌晨两点，油烟和噪音严重扰民。",
    now: dt.datetime = MONDAY_10AM,
    citizen: Citizen | None = None,
    with_citizen: bool = True,
    **overrides: Any,
) -> Petition:
    make_district(session, district_code)
    if citizen is None and with_citizen:
        citizen = make_citizen(session, district_code)
    return submit_petition(
        session, district_code=district_code, kind=kind, content=content, now=now, citizen=citizen, **overrides
    )
