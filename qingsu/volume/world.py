"""The districts, units and staff that generated petitions go through, read once into plain tuples."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import District, Unit, User
from models.enums import DeptType, Role, UnitLevel


class WorldIncomplete(Exception):
    """The database lacks a unit every generated petition needs; the message says which."""


@dataclass(frozen=True)
class UnitRef:
    id: int
    name: str
    level: str  # the UnitLevel name, as stored
    phone: str | None
    city: bool
    name_json: str


# Who an event is by: (actor_user_id, actor_citizen_id, actor_label, unit_id).
Actor = tuple[int | None, int | None, str, int | None]


@dataclass
class DistrictWorld:
    code: str
    name: str
    abbreviation: str
    platform: UnitRef
    dispatcher: Actor
    streets: list[UnitRef] = field(default_factory=list)
    # Each community with the street above it.
    communities: list[tuple[UnitRef, UnitRef]] = field(default_factory=list)
    departments: dict[DeptType, UnitRef] = field(default_factory=dict)


@dataclass
class World:
    districts: dict[str, DistrictWorld]
    city_platform: UnitRef
    city_dispatcher: Actor
    city_departments: dict[DeptType, UnitRef]
    handlers: dict[int, Actor]
    reviewers: dict[int, Actor]
    hotline: Actor | None
    workapp: dict[str, Actor]

    def handler(self, unit: UnitRef) -> Actor:
        return self.handlers.get(unit.id) or (None, None, f"{unit.name}承办人", unit.id)

    def reviewer(self, unit: UnitRef) -> Actor:
        return self.reviewers.get(unit.id) or (None, None, f"{unit.name}科室负责人", unit.id)

    def department(self, district: DistrictWorld | None, dept: DeptType) -> UnitRef:
        """The district's (None: the city's) department of `dept`, or another of its departments if it has none."""
        departments = self.city_departments if district is None else district.departments
        return departments.get(dept) or next(iter(departments.values()))


def _ref(unit: Unit) -> UnitRef:
    return UnitRef(
        unit.id, unit.name, unit.level.name, unit.phone, unit.district_code is None, json.dumps(unit.name)
    )


def _actor(user: User) -> Actor:
    return (user.id, None, user.display_name, user.unit_id)


def load_world(session: Session) -> World:
    """Every active unit and user, by district.

    :raises WorldIncomplete: a district without a platform or a department, no city platform or city department.
    """
    units = session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.id)).all()
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
    by_id = {unit.id: unit for unit in units}
    dispatchers: dict[str | None, Actor] = {}
    handlers: dict[int, Actor] = {}
    reviewers: dict[int, Actor] = {}
    hotline: Actor | None = None
    for user in users:
        if user.role == Role.DISPATCHER and user.district_code:
            dispatchers.setdefault(user.district_code, _actor(user))
        elif user.role == Role.CITY_DISPATCHER:
            dispatchers.setdefault(None, _actor(user))
        elif user.role == Role.HANDLER and user.unit_id:
            handlers.setdefault(user.unit_id, _actor(user))
        elif user.role == Role.UNIT_REVIEWER and user.unit_id:
            reviewers.setdefault(user.unit_id, _actor(user))
        elif user.role == Role.HOTLINE and hotline is None:
            hotline = _actor(user)

    districts: dict[str, DistrictWorld] = {}
    for district in session.scalars(select(District).order_by(District.position, District.code)):
        platform = next(
            (u for u in units if u.district_code == district.code and u.level == UnitLevel.DISTRICT_PLATFORM),
            None,
        )
        if platform is None:
            raise WorldIncomplete(f"{district.name} ({district.code}) has no platform unit")
        world = DistrictWorld(
            district.code,
            district.name,
            district.abbreviation,
            _ref(platform),
            dispatchers.get(district.code) or (None, None, f"{district.name}平台调度员", None),
        )
        for unit in units:
            if unit.district_code != district.code:
                continue
            if unit.level == UnitLevel.STREET:
                world.streets.append(_ref(unit))
            elif unit.level == UnitLevel.DISTRICT_DEPARTMENT and unit.dept_type is not None:
                world.departments.setdefault(unit.dept_type, _ref(unit))
        for unit in units:
            parent = by_id.get(unit.parent_id) if unit.parent_id else None
            if (
                unit.district_code == district.code
                and unit.level == UnitLevel.COMMUNITY
                and parent is not None
            ):
                world.communities.append((_ref(unit), _ref(parent)))
        if not world.departments or not world.streets:
            raise WorldIncomplete(
                f"{district.name} ({district.code}) needs at least one street and one department"
            )
        districts[district.code] = world
    if not districts:
        raise WorldIncomplete("there are no districts")
    city = next((u for u in units if u.level == UnitLevel.CITY_PLATFORM), None)
    city_departments = {
        u.dept_type: _ref(u) for u in reversed(units) if u.level == UnitLevel.CITY_DEPARTMENT and u.dept_type
    }
    if city is None or not city_departments:
        raise WorldIncomplete("the city platform or every city department is missing")
    workapp = {code: d.dispatcher for code, d in districts.items()}
    return World(
        districts=districts,
        city_platform=_ref(city),
        city_dispatcher=dispatchers.get(None) or (None, None, "市级平台调度员", None),
        city_departments=city_departments,
        handlers=handlers,
        reviewers=reviewers,
        hotline=hotline,
        workapp=workapp,
    )
