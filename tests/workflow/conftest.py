"""A small district world for workflow tests: the chain of units and a user for every role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from models import Citizen, Unit, User
from models.enums import DeptType, Role, UnitLevel
from tests.factories import make_citizen, make_city_platform, make_district, make_unit, make_user


@dataclass
class World:
    session: Session
    platform: Unit
    street: Unit
    community: Unit
    urban: Unit
    housing: Unit
    city_platform: Unit
    city_housing: Unit
    dispatcher: User
    other_dispatcher: User
    laoshan_dispatcher: User
    city_dispatcher: User
    community_handler: User
    street_handler: User
    urban_handler: User
    urban_reviewer: User
    housing_handler: User
    city_handler: User
    city_reviewer: User
    citizen: Citizen


@pytest.fixture
def world(db_session: Session) -> World:
    s = db_session
    make_district(s, "shinan")
    make_district(s, "laoshan")
    platform = s.query(Unit).filter_by(district_code="shinan", level=UnitLevel.DISTRICT_PLATFORM).one()
    street = make_unit(s, UnitLevel.STREET, name="八大关街道")
    community = make_unit(s, UnitLevel.COMMUNITY, parent=street, name="太平角社区")
    urban = make_unit(s, dept_type=DeptType.URBAN_MGMT, name="市南区城市管理局")
    housing = make_unit(s, dept_type=DeptType.HOUSING, name="市南区住房和城乡建设局")
    city_platform = make_city_platform(s)
    city_housing = make_unit(s, UnitLevel.CITY_DEPARTMENT, district_code=None, dept_type=DeptType.HOUSING,
                             name="青岛市住房和城乡建设局")
    world = World(
        session=s,
        platform=platform,
        street=street,
        community=community,
        urban=urban,
        housing=housing,
        city_platform=city_platform,
        city_housing=city_housing,
        dispatcher=make_user(s, Role.DISPATCHER),
        other_dispatcher=make_user(s, Role.DISPATCHER),
        laoshan_dispatcher=make_user(s, Role.DISPATCHER, district_code="laoshan"),
        city_dispatcher=make_user(s, Role.CITY_DISPATCHER, district_code=None),
        community_handler=make_user(s, Role.HANDLER, unit=community),
        street_handler=make_user(s, Role.HANDLER, unit=street),
        urban_handler=make_user(s, Role.HANDLER, unit=urban),
        urban_reviewer=make_user(s, Role.UNIT_REVIEWER, unit=urban),
        housing_handler=make_user(s, Role.HANDLER, unit=housing),
        city_handler=make_user(s, Role.HANDLER, unit=city_housing),
        city_reviewer=make_user(s, Role.UNIT_REVIEWER, unit=city_housing),
        citizen=make_citizen(s, "shinan"),
    )
    s.commit()
    return world
