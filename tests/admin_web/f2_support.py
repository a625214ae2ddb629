"""Fixtures for the API, managers' and dashboard tests: two districts with a chain of units and a user per role.

Imported by the F2 test modules (tests/admin_web/conftest.py belongs to the admin site's own tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

import admin_web
from admin_web.api.tokens import issue_token
from models import Citizen, Unit, User, utcnow
from models.enums import DeptType, Role, UnitLevel
from tests.factories import make_citizen, make_city_platform, make_district, make_unit, make_user
from tests.live import serve
from wechat.fake import FakeWechat, create_fake_app


@dataclass
class World:
    session: Session
    platform: Unit
    street: Unit
    community: Unit
    urban: Unit
    housing: Unit
    laoshan_platform: Unit
    laoshan_urban: Unit
    city_platform: Unit
    city_housing: Unit
    users: dict[str, User]
    citizen: Citizen

    def token(self, key: str) -> dict[str, str]:
        """Authorization headers for the user `key`, with a freshly issued token."""
        issued = issue_token(self.session, self.users[key], utcnow())
        self.session.commit()
        return {"Authorization": f"Bearer {issued.raw}"}


@pytest.fixture
def site(app: Flask) -> Iterator[Flask]:
    """The app with the admin site and the API registered (the factory registers them once the lead wires it)."""
    if "admin" not in app.blueprints:
        admin_web.init_app(app)
    yield app


@pytest.fixture
def api_client(site: Flask) -> FlaskClient:
    return site.test_client()


@pytest.fixture
def world(site: Flask, db_session: Session) -> World:
    s = db_session
    for code in ("shinan", "laoshan"):
        make_district(s, code)
    platform = s.query(Unit).filter_by(district_code="shinan", level=UnitLevel.DISTRICT_PLATFORM).one()
    laoshan_platform = (
        s.query(Unit).filter_by(district_code="laoshan", level=UnitLevel.DISTRICT_PLATFORM).one()
    )
    street = make_unit(s, UnitLevel.STREET, name="八大关街道")
    community = make_unit(s, UnitLevel.COMMUNITY, parent=street, name="太平角社区")
    urban = make_unit(s, dept_type=DeptType.URBAN_MGMT, name="市南区城市管理局")
    housing = make_unit(s, dept_type=DeptType.HOUSING, name="市南区住房和城乡建设局")
    laoshan_urban = make_unit(
        s, district_code="laoshan", dept_type=DeptType.URBAN_MGMT, name="崂山区城市管理局"
    )
    city_platform = make_city_platform(s)
    city_housing = make_unit(
        s,
        UnitLevel.CITY_DEPARTMENT,
        district_code=None,
        dept_type=DeptType.HOUSING,
        name="青岛市住房和城乡建设局",
    )
    users = {
        "dispatcher": make_user(s, Role.DISPATCHER),
        "laoshan_dispatcher": make_user(s, Role.DISPATCHER, district_code="laoshan"),
        "city_dispatcher": make_user(s, Role.CITY_DISPATCHER, district_code=None),
        "community_handler": make_user(s, Role.HANDLER, unit=community),
        "street_handler": make_user(s, Role.HANDLER, unit=street),
        "urban_handler": make_user(s, Role.HANDLER, unit=urban),
        "urban_reviewer": make_user(s, Role.UNIT_REVIEWER, unit=urban),
        "laoshan_handler": make_user(s, Role.HANDLER, unit=laoshan_urban),
        "city_handler": make_user(s, Role.HANDLER, unit=city_housing),
        "district_manager": make_user(s, Role.DISTRICT_MANAGER),
        "laoshan_manager": make_user(s, Role.DISTRICT_MANAGER, district_code="laoshan"),
        "city_manager": make_user(s, Role.CITY_MANAGER, district_code=None),
        "leader": make_user(s, Role.LEADER, district_code=None),
        "hotline": make_user(s, Role.HOTLINE, district_code=None),
        "open311": make_user(s, Role.OPEN311, district_code=None),
    }
    world = World(
        session=s,
        platform=platform,
        street=street,
        community=community,
        urban=urban,
        housing=housing,
        laoshan_platform=laoshan_platform,
        laoshan_urban=laoshan_urban,
        city_platform=city_platform,
        city_housing=city_housing,
        users=users,
        citizen=make_citizen(s, "shinan", phone="13812345678"),
    )
    s.commit()
    return world


@dataclass(frozen=True)
class FakeWechatServer:
    """A running fake WeChat API: `fake` to arrange and inspect, `base_url` for ``[wechat] api_base_url``."""

    fake: FakeWechat
    base_url: str


@pytest.fixture
def fake_wechat(site: Flask) -> Iterator[FakeWechatServer]:
    """The fake WeChat API on a free local port, with the app pointed at it."""
    fake = FakeWechat()
    with serve(create_fake_app(fake)) as base_url:
        site.config["WECHAT"]["api_base_url"] = base_url
        yield FakeWechatServer(fake, base_url)
