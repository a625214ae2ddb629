"""Admin-site fixtures: the admin site on the test app, a small two-district world with a user for every role,
`login_as` to sign a test client in, and `csrf` to read a page's CSRF token."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from admin_web.auth import login_id
from models import Citizen, Petition, Unit, User
from models.enums import DeptType, Role, UnitLevel
from tests.factories import (
    MONDAY_10AM,
    make_citizen,
    make_city_platform,
    make_district,
    make_petition,
    make_unit,
    make_user,
)
from tests.live import chromium as launch_chromium
from tests.live import serve
from workflow.engine import perform

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')

REPLY = {
    "petitioner_info": "张先生，市南区太平角社区居民",
    "policy_basis": "《青岛市市容和环境卫生管理条例》第二十条",
    "result": "执法队员已现场检查，责令烧烤摊于22时前停止营业并安装油烟净化设施。",
    "responsible_person": "李队长",
    "contact_phone": "0532-88886666",
}

SUGGESTION = {
    "departments": [
        {"type": "urban_mgmt", "score": 0.81},
        {"type": "ecology", "score": 0.11},
        {"type": "market", "score": 0.04},
    ],
    "nature": "complaint",
    "admissible": True,
    "inadmissible_code": None,
    "reason": "",
    "terms": ["烧烤", "油烟", "噪音"],
}


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2id hash of PASSWORD for every test user, made with the cheapest parameters argon2 allows.

    Verifying costs what the hash's own parameters say, so the many failed logins of the lockout tests stay fast;
    a successful login upgrades the hash to the production parameters (see test_auth).
    """
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)


@pytest.fixture(autouse=True)
def admin_site(app: Flask) -> Flask:
    """The admin site on the test app (the factory registers it once the lead wires `admin_web.init_app` in)."""
    if "admin" not in app.blueprints:
        import admin_web

        admin_web.init_app(app)
    app.before_request(_forget_request_cache)
    return app


def _forget_request_cache() -> None:
    """Drop what Flask-Login and Flask-WTF cache in `g` for one request.

    The shared `app` fixture keeps one application context for the whole test, so `g` would otherwise carry the
    signed-in user and the CSRF token from one test request into the next; a real request starts with an empty `g`.
    """
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


@dataclass
class World:
    session: Session
    platform: Unit
    street: Unit
    community: Unit
    urban: Unit
    housing: Unit
    laoshan_urban: Unit
    city_platform: Unit
    city_housing: Unit
    dispatcher: User
    laoshan_dispatcher: User
    city_dispatcher: User
    district_manager: User
    leader: User
    community_handler: User
    street_handler: User
    urban_handler: User
    urban_reviewer: User
    housing_handler: User
    laoshan_handler: User
    city_handler: User
    city_reviewer: User
    citizen: Citizen

    def petition(self, **overrides: Any) -> Petition:
        """A new 民生 petition in 市南区 with the classifier's suggestion (urban management first)."""
        overrides.setdefault("citizen", self.citizen)
        overrides.setdefault("suggestion", SUGGESTION)
        overrides.setdefault("contact_phone", "13812341234")
        petition = make_petition(self.session, **overrides)
        self.session.commit()
        return petition

    def do(self, petition: Petition, action: str, actor: User, **params: Any) -> Petition:
        """Move `petition` along through the workflow itself (setting up a state the page under test starts from)."""
        perform(self.session, petition, action, actor, MONDAY_10AM + dt.timedelta(hours=len(petition.events)),
                **params)
        self.session.commit()
        return petition

    def assigned_to_urban(self, **overrides: Any) -> Petition:
        """A petition dispatched to the urban management bureau (待签收)."""
        petition = self.petition(**overrides)
        return self.do(petition, "dispatch", self.dispatcher, unit_id=self.urban.id, nature="complaint",
                       dept_type="urban_mgmt")

    def replied_by_urban(self, **overrides: Any) -> Petition:
        """A petition the urban management bureau accepted and answered (答复待单位审核)."""
        petition = self.assigned_to_urban(**overrides)
        self.do(petition, "accept", self.urban_handler)
        return self.do(petition, "submit_reply", self.urban_handler, **REPLY)


@pytest.fixture
def world(db_session: Session, password_hash: str) -> World:
    s = db_session
    make_district(s, "shinan")
    make_district(s, "laoshan")
    platform = s.query(Unit).filter_by(district_code="shinan", level=UnitLevel.DISTRICT_PLATFORM).one()
    street = make_unit(s, UnitLevel.STREET, name="八大关街道")
    community = make_unit(s, UnitLevel.COMMUNITY, parent=street, name="太平角社区")
    urban = make_unit(s, dept_type=DeptType.URBAN_MGMT, name="市南区城市管理局")
    housing = make_unit(s, dept_type=DeptType.HOUSING, name="市南区住房和城乡建设局")
    laoshan_urban = make_unit(s, dept_type=DeptType.URBAN_MGMT, district_code="laoshan", name="崂山区城市管理局")
    city_platform = make_city_platform(s)
    city_housing = make_unit(s, UnitLevel.CITY_DEPARTMENT, district_code=None, dept_type=DeptType.HOUSING,
                             name="青岛市住房和城乡建设局")

    def user(role: Role, **kwargs: Any) -> User:
        return make_user(s, role, password_hash=password_hash, **kwargs)

    world = World(
        session=s,
        platform=platform,
        street=street,
        community=community,
        urban=urban,
        housing=housing,
        laoshan_urban=laoshan_urban,
        city_platform=city_platform,
        city_housing=city_housing,
        dispatcher=user(Role.DISPATCHER, username="sn_dispatcher"),
        laoshan_dispatcher=user(Role.DISPATCHER, district_code="laoshan", username="ls_dispatcher"),
        city_dispatcher=user(Role.CITY_DISPATCHER, district_code=None, username="city_dispatcher"),
        district_manager=user(Role.DISTRICT_MANAGER, username="sn_manager"),
        leader=user(Role.LEADER, district_code=None, username="leader"),
        community_handler=user(Role.HANDLER, unit=community, username="sn_community"),
        street_handler=user(Role.HANDLER, unit=street, username="sn_street"),
        urban_handler=user(Role.HANDLER, unit=urban, username="sn_urban"),
        urban_reviewer=user(Role.UNIT_REVIEWER, unit=urban, username="sn_urban_reviewer"),
        housing_handler=user(Role.HANDLER, unit=housing, username="sn_housing"),
        laoshan_handler=user(Role.HANDLER, unit=laoshan_urban, username="ls_urban"),
        city_handler=user(Role.HANDLER, unit=city_housing, username="city_housing"),
        city_reviewer=user(Role.UNIT_REVIEWER, unit=city_housing, username="city_housing_reviewer"),
        citizen=make_citizen(s, "shinan", phone="13812341234", name="张先生"),
    )
    s.commit()
    return world


@pytest.fixture
def login_as(client: FlaskClient) -> Callable[[User], FlaskClient]:
    """Sign the test client in as `user` without the login form (the login form has its own tests)."""

    def sign_in(user: User) -> FlaskClient:
        with client.session_transaction() as session:
            session.clear()
            session["_user_id"] = login_id(user)
            session["_fresh"] = True
        return client

    return sign_in


@pytest.fixture
def csrf(client: FlaskClient) -> Callable[[str], str]:
    """The CSRF token from the page at `path` (every admin page carries one)."""

    def token(path: str = "/admin/login") -> str:
        response = client.get(path)
        match = CSRF_RE.search(response.get_data(as_text=True))
        assert match, f"no CSRF token on {path} ({response.status_code})"
        return match.group(1)

    return token


@pytest.fixture
def served(admin_site: Flask) -> Iterator[str]:
    """The admin site served on a loopback port, for the browser tests (`tests.live`)."""
    with serve(admin_site) as url:
        yield url


@pytest.fixture(name="chromium")
def chromium_fixture() -> Iterator[Any]:
    """Debian's Chromium through Playwright, for the browser tests (`tests.live`)."""
    with launch_chromium() as browser:
        yield browser
