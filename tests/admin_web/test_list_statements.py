"""Every list page and API list issues the same number of SQL statements for 3 rows as for 30: what a row shows
is loaded with the page (eager loading or one batch query per list), never one query per row.

Each test builds 3 rows, asks for the page once to warm what is cached per process, counts the statements of a
second request, adds 27 rows and counts again. Each counted request has a session of its own, so nothing the
set-up loaded can hide a lazy load.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import event

from admin_web.api.tokens import issue_token
from models import Assessment, Notification, Petition, StaffAlert, User
from models.enums import (
    AssessmentOutcome,
    DeptType,
    NotificationState,
    PetitionKind,
    PetitionState,
    Role,
    UnitLevel,
)
from tests.admin_web.conftest import World
from tests.factories import MONDAY_10AM, make_citizen, make_unit, make_user

FEW, MANY = 3, 30


class StatementCounter:
    def __init__(self, app: Flask) -> None:
        self.engine = app.extensions["qingsu.engine"]
        self.count = 0

    def _count(self, *_args: Any) -> None:
        self.count += 1

    def __call__(
        self, client: FlaskClient, url: str, session: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """The number of statements one GET of `url` issues, and the response."""
        # The test shares the request's app context: give the request a session of its own, as in production.
        test_session = g.pop("db_session", None)
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._count)
        try:
            response = client.get(url, headers=headers or {})
            if response.is_streamed:
                response.get_data()
        finally:
            event.remove(self.engine, "before_cursor_execute", self._count)
            request_session = g.pop("db_session", None)
            if request_session is not None:
                request_session.close()
            if test_session is not None:
                g.db_session = test_session
        assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:500])
        return self.count, response


@pytest.fixture
def statements(app: Flask) -> StatementCounter:
    return StatementCounter(app)


def assert_constant(
    statements: StatementCounter,
    client: FlaskClient,
    url: str,
    session: Any,
    add_rows: Callable[[int], None],
    headers: dict[str, str] | None = None,
    expect_in_page: Callable[[Any], int] | None = None,
) -> None:
    """`url` costs the same statements with FEW rows as with MANY."""
    add_rows(FEW)
    statements(client, url, session, headers)  # warm per-process caches (calendar, templates)
    few, response = statements(client, url, session, headers)
    if expect_in_page is not None:
        assert expect_in_page(response) == FEW
    add_rows(MANY - FEW)
    many, response = statements(client, url, session, headers)
    if expect_in_page is not None:
        assert expect_in_page(response) >= min(MANY, 20)
    assert few == many, f"{url}: {few} statements for {FEW} rows, {many} for {MANY}"


def shown(marker: str) -> Callable[[Any], int]:
    return lambda response: response.get_data(as_text=True).count(marker)


def _kinds(i: int) -> PetitionKind:
    return (PetitionKind.LIVELIHOOD, PetitionKind.DEVELOPMENT, PetitionKind.ENFORCEMENT)[i % 3]


def _new(world: World, i: int, **overrides: Any) -> Petition:
    kind = overrides.pop("kind", _kinds(i))
    if kind == PetitionKind.ENFORCEMENT:
        overrides.setdefault("origin_unit", world.street)
    return world.petition(kind=kind, content=f"第{i}条：小区楼下烧烤摊油烟扰民。", **overrides)


class Rows:
    """Adds rows of one kind, numbering them on from the ones added before."""

    def __init__(self, make: Callable[[int], None]) -> None:
        self.made = 0
        self.make = make

    def __call__(self, n: int) -> None:
        for i in range(self.made, self.made + n):
            self.make(i)
        self.made += n


def test_queue(login_as, world: World, statements) -> None:
    client = login_as(world.dispatcher)
    assert_constant(
        statements,
        client,
        "/admin/queue",
        world.session,
        Rows(lambda i: _new(world, i)),
        expect_in_page=shown('class="card queue-item"'),
    )


def test_city_queue(login_as, world: World, statements) -> None:
    def sent_to_city(i: int) -> None:
        world.do(_new(world, i), "send_to_city", world.dispatcher, note="需要市住建局", nature="complaint")

    client = login_as(world.city_dispatcher)
    assert_constant(
        statements,
        client,
        "/admin/queue",
        world.session,
        Rows(sent_to_city),
        expect_in_page=shown('class="card queue-item"'),
    )


def _handled_by_urban(world: World, i: int) -> Petition:
    if i % 2:
        return world.assigned_to_urban(content=f"第{i}条：路灯不亮。")
    # A 执法 petition led by the urban bureau, with the housing bureau cooperating.
    petition = _new(world, i, kind=PetitionKind.ENFORCEMENT)
    return world.do(
        petition,
        "dispatch",
        world.dispatcher,
        unit_id=world.urban.id,
        nature="complaint",
        dept_type="urban_mgmt",
        cooperating_unit_ids=[world.housing.id, world.street.id],
    )


def test_workbench(login_as, world: World, statements) -> None:
    def open_at_urban(i: int) -> None:
        petition = _handled_by_urban(world, i)
        if i % 3 == 0:
            world.do(petition, "accept", world.urban_handler)
        if i % 6 == 0:
            world.do(
                petition, "request_extension", world.urban_handler, extra_working_days="2", reason="需要检测"
            )

    client = login_as(world.urban_handler)
    assert_constant(
        statements,
        client,
        "/admin/workbench",
        world.session,
        Rows(open_at_urban),
        expect_in_page=shown("<tr data-number="),
    )


def test_workbench_cooperating(login_as, world: World, statements) -> None:
    client = login_as(world.housing_handler)
    rows = Rows(lambda i: _handled_by_urban(world, 2 * i))
    assert_constant(statements, client, "/admin/workbench", world.session, rows)


def test_unit_review(login_as, world: World, statements) -> None:
    client = login_as(world.urban_reviewer)
    rows = Rows(lambda i: world.replied_by_urban(content=f"第{i}条：路灯不亮。"))
    assert_constant(
        statements,
        client,
        "/admin/review",
        world.session,
        rows,
        expect_in_page=shown('class="card review-item"'),
    )


def test_platform_review(login_as, world: World, statements) -> None:
    def at_platform(i: int) -> None:
        world.do(
            world.replied_by_urban(content=f"第{i}条：路灯不亮。"), "approve_reply", world.urban_reviewer
        )

    client = login_as(world.dispatcher)
    assert_constant(
        statements,
        client,
        "/admin/review",
        world.session,
        Rows(at_platform),
        expect_in_page=shown('class="card review-item"'),
    )


def test_extensions(login_as, world: World, statements) -> None:
    def asking(i: int) -> None:
        petition = world.assigned_to_urban(content=f"第{i}条：路灯不亮。")
        world.do(
            petition, "request_extension", world.urban_handler, extra_working_days="3", reason="需要检测"
        )

    client = login_as(world.dispatcher)
    assert_constant(
        statements,
        client,
        "/admin/extensions",
        world.session,
        Rows(asking),
        expect_in_page=shown('<article class="card" id="e-'),
    )


def _followup_rows(world: World) -> Rows:
    """Petitions in a second round, awaiting assessment and referred for accountability, set directly in place."""

    def make(i: int) -> None:
        petition = world.assigned_to_urban(content=f"第{i}条：路灯不亮。")
        petition.handling_round = 2
        if i % 3 == 1:
            petition.state = PetitionState.ASSESSMENT
        elif i % 3 == 2:
            petition.state = PetitionState.ACCOUNTABILITY
            petition.closed_at = MONDAY_10AM + dt.timedelta(days=i)
            unit = world.urban if i % 2 else world.housing
            for round_ in (1, 2):
                world.session.add(
                    Assessment(
                        petition=petition,
                        unit=unit,
                        handling_round=round_,
                        outcome=AssessmentOutcome.NOT_COMPLETED,
                        note="未履职",
                    )
                )
        world.session.commit()

    return Rows(make)


def test_followup(login_as, world: World, statements) -> None:
    client = login_as(world.dispatcher)
    assert_constant(statements, client, "/admin/followup", world.session, _followup_rows(world))


@pytest.mark.parametrize("who", ["dispatcher", "leader", "urban_handler"])
def test_search(login_as, world: World, statements, who: str) -> None:
    client = login_as(getattr(world, who))
    assert_constant(
        statements,
        client,
        "/admin/search",
        world.session,
        Rows(lambda i: _handled_by_urban(world, i)),
        expect_in_page=lambda r: r.get_data(as_text=True).count('<td data-label="编号">'),
    )


def test_search_csv(login_as, world: World, statements) -> None:
    def made(i: int) -> None:
        petition = _handled_by_urban(world, i)
        if i % 2:
            petition.contact_phone = None
            petition.citizen = make_citizen(world.session, "shinan", phone=f"139{i:08d}", name=f"市民{i}")
            world.session.commit()

    client = login_as(world.dispatcher)
    assert_constant(
        statements,
        client,
        "/admin/search.csv",
        world.session,
        Rows(made),
        expect_in_page=lambda r: r.get_data(as_text=True).count("\n") - 1,
    )


def _alerts(world: World) -> Rows:
    def make(i: int) -> None:
        petition = world.petition(content=f"第{i}条：路灯不亮。")
        world.session.add(
            StaffAlert(
                kind="red",
                audience="platform",
                district_code="shinan",
                unit_id=world.platform.id,
                petition=petition,
                title=f"诉求超期{i}",
                dedupe_key=f"red:{i}",
                data={"light": "red"},
            )
        )
        world.session.commit()

    return Rows(make)


def test_alerts(login_as, world: World, statements) -> None:
    client = login_as(world.dispatcher)
    assert_constant(statements, client, "/admin/alerts", world.session, _alerts(world))


def test_manage_units(login_as, world: World, statements) -> None:
    def make(i: int) -> None:
        street = make_unit(world.session, UnitLevel.STREET, name=f"街道{i}")
        make_unit(world.session, UnitLevel.COMMUNITY, parent=street, name=f"社区{i}")
        world.session.commit()

    client = login_as(world.district_manager)
    assert_constant(statements, client, "/admin/manage/units", world.session, Rows(make))


def test_manage_users(login_as, world: World, statements) -> None:
    def make(i: int) -> None:
        unit = make_unit(world.session, dept_type=DeptType.WATER, name=f"水务局{i}")
        make_user(world.session, Role.HANDLER, unit=unit, username=f"handler{i}")
        world.session.commit()

    client = login_as(world.district_manager)
    assert_constant(statements, client, "/admin/manage/users", world.session, Rows(make))


def test_manage_index(login_as, world: World, statements) -> None:
    def make(i: int) -> None:
        make_user(world.session, Role.DISPATCHER, username=f"dispatcher{i}")
        world.session.commit()

    city_manager = make_user(
        world.session,
        Role.CITY_MANAGER,
        district_code=None,
        username="city_manager",
        password_hash=world.dispatcher.password_hash,
    )
    world.session.commit()
    client = login_as(city_manager)
    assert_constant(statements, client, "/admin/manage/", world.session, Rows(make))


def _dead(world: World) -> Rows:
    def make(i: int) -> None:
        world.session.add(
            Notification(
                district_code="shinan",
                citizen=world.citizen,
                event="accepted",
                payload={"number": f"SN{i}"},
                state=NotificationState.DEAD,
                client_msg_id=f"dead-{i}",
                last_error="43004",
                attempts=5,
                created_at=MONDAY_10AM + dt.timedelta(minutes=i),
            )
        )
        world.session.commit()

    return Rows(make)


def test_dead_letters(login_as, world: World, statements) -> None:
    client = login_as(world.district_manager)
    assert_constant(statements, client, "/admin/manage/dead-letters", world.session, _dead(world))


# --- the JSON API -------------------------------------------------------------------------------------------------


@pytest.fixture
def api(app: Flask, world: World) -> Iterator[Callable[[User], dict[str, str]]]:
    def headers(user: User) -> dict[str, str]:
        issued = issue_token(world.session, user, MONDAY_10AM.replace(year=2099))
        world.session.commit()
        return {"Authorization": f"Bearer {issued.raw}"}

    yield headers


@pytest.mark.parametrize(
    "url",
    ["/api/v1/petitions", "/api/v1/petitions?updated_from=2026-01-01", "/api/v1/petitions?state=assigned"],
)
def test_api_petitions(client, world: World, statements, api, url: str) -> None:
    headers = api(world.dispatcher)
    assert_constant(
        statements, client, url, world.session, Rows(lambda i: _handled_by_urban(world, i)), headers=headers
    )


def test_api_units(client, world: World, statements, api) -> None:
    def make(i: int) -> None:
        make_unit(world.session, UnitLevel.STREET, name=f"街道{i}")
        world.session.commit()

    assert_constant(
        statements, client, "/api/v1/units", world.session, Rows(make), headers=api(world.dispatcher)
    )
