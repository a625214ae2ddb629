"""The permission matrix: every role × every admin page and API endpoint × a resource of the role's own district and
one of another district.

The routes come from `app.url_map`, and `test_every_route_is_in_the_matrix` fails for a route the table does not
list, so a new page or endpoint cannot escape this test. For each (endpoint, method) the table says

* `gate`: the roles the page lets in at all (anyone else: 403; not signed in: the login page, or 401 for the API);
* `acts`: of those, the roles that may do what the request asks (e.g. only a handler may 签收) — the others get
  403 *after* the scope check;
* `scoped`: whether the URL names a district's resource, so a district-bound user asking for another district's
  gets 404 (never 403: numbers and ids must not be probed).

An allowed request may still answer 422 (the matrix posts empty or minimal forms) or redirect; it must not answer
401, 403, 404 or a server error.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, current_app, url_for
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from admin_web.api.tokens import issue_token
from admin_web.auth import login_id
from models import (
    Attachment,
    HotIssue,
    HotIssuePetition,
    Notification,
    Petition,
    StaffAlert,
    User,
    WarningRule,
    utcnow,
)
from models.enums import Channel, MediaState, NotificationState, Role
from tests.admin_web import f2_support
from tests.admin_web.f2_support import FakeWechatServer, World
from tests.factories import make_account, make_citizen, make_petition, make_user
from workflow.calendar import set_override
from workflow.engine import perform
from workflow.media import MediaSettings, store_file

# The shared fixtures (tests/admin_web/conftest.py belongs to the admin site's own tests).
site, world, fake_wechat = f2_support.site, f2_support.world, f2_support.fake_wechat

# Every staff role: an Open311 client's account (another system) opens no page and no /api/v1 endpoint.
ALL = frozenset(Role) - {Role.OPEN311}
DISPATCHERS = frozenset({Role.DISPATCHER, Role.CITY_DISPATCHER})
MANAGERS = frozenset({Role.DISTRICT_MANAGER, Role.CITY_MANAGER})
UNIT_STAFF = frozenset({Role.HANDLER, Role.UNIT_REVIEWER})
PUBLIC = "public"
# Route prefixes the matrix covers.
COVERED = ("/admin", "/api/v1")
# Routes outside them, none of which has staff roles: WeChat's webhook (signed by WeChat), the health checks, the demo's
# citizen chat simulator, and served files. A new route elsewhere fails `test_no_route_escapes_the_matrix`.
OUTSIDE = {
    "healthz",
    "readyz",
    "root",
    "static",
    "bot.webhook",
    "simulator.page",
    "simulator.send_from_page",
    "simulator.messages",
    "simulator.static",
    # The citizen's reply page: no sign-in, opened by a link signed with the secret key (its own tests).
    "reply_page.show",
    "reply_page.rate",
    "reply_page.static",
    # Open311 GeoReport v2: reading is open as the standard has it, filing takes an Open311 client's api_key (its
    # own tests, tests/admin_web/test_open311.py).
    "open311.list_services",
    "open311.service_definition",
    "open311.list_requests",
    "open311.create_request",
    "open311.get_request",
}
# Served files, not pages: no role and no data.
NOT_PAGES = {"admin.static"}

# Who signs in for each role: 市南区 users (the "own" district), and the city's.
ACTORS = {
    Role.DISPATCHER: "dispatcher",
    Role.HANDLER: "urban_handler",
    Role.UNIT_REVIEWER: "urban_reviewer",
    Role.CITY_DISPATCHER: "city_dispatcher",
    Role.DISTRICT_MANAGER: "district_manager",
    Role.CITY_MANAGER: "city_manager",
    Role.LEADER: "leader",
    Role.HOTLINE: "hotline",
    Role.OPEN311: "open311",
}


@dataclass
class Context:
    """The world plus the resources the URLs name, created per request so one request cannot spoil the next."""

    world: World
    serial: itertools.count = field(default_factory=lambda: itertools.count(1))
    # Who is about to ask, for resources addressed to a role (an alert) rather than to a district.
    role: Role | None = None

    def assigned_petition(self, own: bool, **fields: Any) -> Petition:
        """A petition dispatched to a district's urban management bureau (待签收), visible to that unit."""
        w = self.world
        district = "shinan" if own else "laoshan"
        petition = make_petition(w.session, district_code=district, **fields)
        dispatcher = w.users["dispatcher" if own else "laoshan_dispatcher"]
        perform(
            w.session,
            petition,
            "dispatch",
            dispatcher,
            utcnow(),
            unit_id=(w.urban if own else w.laoshan_urban).id,
            nature="complaint",
            complexity="simple",
        )
        w.session.commit()
        return petition

    def hotline_petition(self, own: bool) -> Petition:
        """A petition the 12345 hotline filed, dispatched like `assigned_petition`."""
        return self.assigned_petition(
            own, with_citizen=False, channel=Channel.HOTLINE, external_id=f"perm-{next(self.serial)}"
        )

    def stored_attachment(self, own: bool) -> dict[str, Any]:
        """An image kept by the media job, on a petition of the district (path values of the attachment routes)."""
        petition = self.assigned_petition(own)
        content = f"image {next(self.serial)}".encode()
        attachment = Attachment(
            kind="image",
            media_id="perm-media",
            media_state=MediaState.STORED,
            sha256=store_file(MediaSettings.from_app(current_app).folder, content),
            content_type="image/png",
            size=len(content),
        )
        petition.attachments.append(attachment)
        self.world.session.commit()
        return {"number": petition.number, "attachment_id": attachment.id}

    def victim(self, own: bool) -> User:
        """A user of the district for a manager to deactivate or reset."""
        user = make_user(self.world.session, Role.DISPATCHER, district_code="shinan" if own else "laoshan")
        self.world.session.commit()
        return user

    def holiday(self, day: dt.date) -> None:
        """An override of `day`, for the remove button to remove."""
        set_override(self.world.session, day, False, "", None)
        self.world.session.commit()

    def dead_letter(self, own: bool) -> Notification:
        district = "shinan" if own else "laoshan"
        citizen = make_citizen(self.world.session, district)
        row = Notification(
            district_code=district,
            citizen_id=citizen.id,
            event="replied",
            payload={},
            state=NotificationState.DEAD,
            client_msg_id=f"perm-{next(self.serial)}",
        )
        self.world.session.add(row)
        self.world.session.commit()
        return row

    def hot_issue(self, own: bool) -> HotIssue:
        """A hot issue of one petition of the district (the job's row and its member)."""
        petition = self.assigned_petition(own)
        now = utcnow()
        issue = HotIssue(
            days=7, computed_at=now, rank=1, title="路灯不亮", terms=["路灯"], size=1, previous=0, daily=[1],
            districts=[petition.district_code], first_at=now, last_at=now,
        )  # fmt: skip
        self.world.session.add(issue)
        self.world.session.flush()
        self.world.session.add(
            HotIssuePetition(hot_issue_id=issue.id, petition_id=petition.id, district_code=petition.district_code)
        )
        self.world.session.commit()
        return issue

    def warning_rule(self) -> WarningRule:
        rule = WarningRule(kind="surge", name="激增", threshold=5, window_hours=24)
        self.world.session.add(rule)
        self.world.session.commit()
        return rule

    def alert(self, own: bool) -> StaffAlert:
        """An unread alert addressed to the asking role in its own district, or the same in the other district: a
        unit's yellow reminder, a platform's red alert, a district's daily summary (roles with no alerts get one)."""
        w = self.world
        district = "shinan" if own else "laoshan"
        row = StaffAlert(
            kind="red",
            audience="platform",
            district_code=district,
            title="提醒",
            dedupe_key=f"perm-{next(self.serial)}",
        )
        if self.role in UNIT_STAFF:
            row.kind, row.audience, row.unit_id = "yellow", "unit", (w.urban if own else w.laoshan_urban).id
        elif self.role == Role.DISPATCHER:
            row.unit_id = (w.platform if own else w.laoshan_platform).id
        elif self.role == Role.CITY_DISPATCHER:
            row.unit_id = w.city_platform.id
        elif self.role in (Role.CITY_MANAGER, Role.LEADER):
            # The city's managers and leaders read early warnings (of any district).
            row.kind, row.audience = "warning", "district_platform"
        else:
            row.kind, row.audience = "daily_summary", "district_manager"
        w.session.add(row)
        w.session.commit()
        return row


Args = Callable[[Context, bool], dict[str, Any]]


def _district(_ctx: Context, own: bool) -> dict[str, Any]:
    return {"code": "shinan" if own else "laoshan"}


def _district_query(_ctx: Context, own: bool) -> dict[str, Any]:
    return {"district": "shinan" if own else "laoshan"}


def _number(ctx: Context, own: bool) -> dict[str, Any]:
    return {"number": ctx.assigned_petition(own).number}


def _accept(ctx: Context, own: bool) -> dict[str, Any]:
    return {"number": ctx.assigned_petition(own).number, "action": "accept"}


@dataclass(frozen=True)
class Access:
    gate: frozenset[Role] | str
    acts: frozenset[Role] | None = None
    args: Args | None = None
    form: dict[str, str] = field(default_factory=dict)
    json: Callable[[Context], dict[str, Any]] | None = None
    # Run before each request, for a POST that needs something to act on (e.g. an override to remove).
    setup: Callable[[Context], None] | None = None

    @property
    def scoped(self) -> bool:
        return self.args is not None


def _petition_body(ctx: Context) -> dict[str, Any]:
    return {
        "external_id": f"perm-{next(ctx.serial)}",
        "district_code": "shinan",
        "kind": "livelihood",
        "content": "楼道灯不亮。",
    }


MATRIX: dict[tuple[str, str], Access] = {
    # The admin site's staff pages.
    ("admin.login", "GET"): Access(PUBLIC),
    ("admin.login", "POST"): Access(PUBLIC),
    ("admin.logout", "POST"): Access(PUBLIC),
    ("admin.password", "GET"): Access(ALL),
    ("admin.password", "POST"): Access(ALL),
    ("admin.home", "GET"): Access(ALL),
    ("admin.queue", "GET"): Access(DISPATCHERS),
    ("admin.review", "GET"): Access(DISPATCHERS | {Role.UNIT_REVIEWER}),
    ("admin.extensions", "GET"): Access(DISPATCHERS),
    ("admin.workbench", "GET"): Access(UNIT_STAFF),
    ("admin.new_enforcement", "GET"): Access(UNIT_STAFF),
    ("admin.new_enforcement", "POST"): Access(UNIT_STAFF),
    ("admin.followup", "GET"): Access(DISPATCHERS | MANAGERS | {Role.LEADER}),
    ("admin.search", "GET"): Access(ALL),
    ("admin.search_csv", "GET"): Access(ALL),
    ("admin.petition_page", "GET"): Access(ALL, args=_number),
    ("admin.petition_attachment", "GET"): Access(ALL, args=lambda ctx, own: ctx.stored_attachment(own)),
    ("admin.alerts_page", "GET"): Access(UNIT_STAFF | DISPATCHERS | MANAGERS | {Role.LEADER}),
    ("admin.warnings_page", "GET"): Access(DISPATCHERS | MANAGERS | {Role.LEADER, Role.UNIT_REVIEWER}),
    ("admin.mark_alert_read", "POST"): Access(
        UNIT_STAFF | DISPATCHERS | MANAGERS | {Role.LEADER},
        args=lambda ctx, own: {"alert_id": ctx.alert(own).id},
    ),
    ("admin.perform_action", "POST"): Access(
        ALL, acts=frozenset({Role.HANDLER}), args=_accept, form={"expected_state": "assigned"}
    ),
    # Linking a duplicate: scoped like every action; on a dispatched petition the workflow refuses it (409) for all.
    ("admin.link_petition", "POST"): Access(ALL, args=_number, form={"target": "SN209901010001"}),
    # The managers' pages.
    ("manage.index", "GET"): Access(MANAGERS),
    ("manage.update_district", "POST"): Access(
        frozenset({Role.CITY_MANAGER}), args=_district, form={"platform_name": "暖南诉办"}
    ),
    ("manage.account", "GET"): Access(MANAGERS, args=_district),
    ("manage.account", "POST"): Access(MANAGERS, args=_district),
    ("manage.test_account", "POST"): Access(MANAGERS, args=_district),
    ("manage.update_service", "POST"): Access(MANAGERS, args=_district),
    ("manage.push_account_menu", "POST"): Access(MANAGERS, args=_district),
    ("manage.units", "GET"): Access(MANAGERS, args=_district_query),
    ("manage.new_unit", "GET"): Access(MANAGERS),
    ("manage.new_unit", "POST"): Access(MANAGERS),
    ("manage.edit_unit", "GET"): Access(
        MANAGERS, args=lambda ctx, own: {"unit_id": (ctx.world.urban if own else ctx.world.laoshan_urban).id}
    ),
    ("manage.edit_unit", "POST"): Access(
        MANAGERS, args=lambda ctx, own: {"unit_id": (ctx.world.urban if own else ctx.world.laoshan_urban).id}
    ),
    ("manage.users", "GET"): Access(MANAGERS, args=_district_query),
    ("manage.new_user", "GET"): Access(MANAGERS),
    ("manage.new_user", "POST"): Access(MANAGERS),
    ("manage.set_user_active", "POST"): Access(
        MANAGERS, args=lambda ctx, own: {"user_id": ctx.victim(own).id}, form={"active": "0"}
    ),
    ("manage.reset_password", "POST"): Access(
        MANAGERS, args=lambda ctx, own: {"user_id": ctx.victim(own).id}
    ),
    ("manage.calendar", "GET"): Access(MANAGERS),
    # The calendar is city-wide and every manager may correct it (issue 13: the banner asks them to).
    ("manage.calendar", "POST"): Access(MANAGERS, form={"day": "2027-01-04", "is_working_day": "0"}),
    ("manage.remove_holiday", "POST"): Access(
        MANAGERS,
        form={"day": "2027-01-04"},
        setup=lambda ctx: ctx.holiday(dt.date(2027, 1, 4)),
    ),
    ("manage.confirm_holidays", "POST"): Access(MANAGERS, form={"year": "2027"}),
    ("manage.import_holidays", "GET"): Access(MANAGERS),
    ("manage.import_holidays", "POST"): Access(
        MANAGERS, form={"year": "2027", "text": "元旦：1月1日（周五）放假1天。", "step": "preview"}
    ),
    ("manage.templates", "GET"): Access(MANAGERS),
    ("manage.edit_template", "GET"): Access(
        MANAGERS, args=lambda ctx, own: {**_district(ctx, own), "event": "replied"}
    ),
    ("manage.edit_template", "POST"): Access(
        MANAGERS, args=lambda ctx, own: {**_district(ctx, own), "event": "replied"}
    ),
    ("manage.dead_letters", "GET"): Access(MANAGERS),
    ("manage.retry_notification", "POST"): Access(
        MANAGERS, args=lambda ctx, own: {"notification_id": ctx.dead_letter(own).id}
    ),
    ("manage.warning_rules", "GET"): Access(frozenset({Role.CITY_MANAGER})),
    ("manage.new_warning_rule", "GET"): Access(frozenset({Role.CITY_MANAGER}), args=lambda _c, _o: {"kind": "surge"}),
    ("manage.new_warning_rule", "POST"): Access(frozenset({Role.CITY_MANAGER}), args=lambda _c, _o: {"kind": "surge"}),
    ("manage.edit_warning_rule", "GET"): Access(
        frozenset({Role.CITY_MANAGER}), args=lambda ctx, _own: {"rule_id": ctx.warning_rule().id}
    ),
    ("manage.edit_warning_rule", "POST"): Access(
        frozenset({Role.CITY_MANAGER}), args=lambda ctx, _own: {"rule_id": ctx.warning_rule().id}
    ),
    # The hot issues (the dashboard's panel and its API): the dashboard's roles, each in the districts it sees.
    ("admin.hot_issue", "GET"): Access(
        DISPATCHERS | MANAGERS | {Role.LEADER}, args=lambda ctx, own: {"issue_id": ctx.hot_issue(own).id}
    ),
    ("api.list_hot_issues", "GET"): Access(DISPATCHERS | MANAGERS | {Role.LEADER}),
    # The dashboard.
    ("dashboard.index", "GET"): Access(DISPATCHERS | MANAGERS | {Role.LEADER}, args=_district_query),
    ("dashboard.chart_csv", "GET"): Access(
        DISPATCHERS | MANAGERS | {Role.LEADER}, args=lambda ctx, own: {**_district_query(ctx, own), "name": "lights"}
    ),
    ("dashboard.monthly_report_download", "GET"): Access(
        DISPATCHERS | MANAGERS | {Role.LEADER}, args=lambda ctx, own: {"month": "2026-10", **_district_query(ctx, own)}
    ),
    # The JSON API.
    ("api.openapi_document", "GET"): Access(PUBLIC),
    ("api.create_token", "POST"): Access(PUBLIC, json=lambda _ctx: {"username": "nobody", "password": "x"}),
    ("api.delete_current_token", "DELETE"): Access(ALL),
    ("api.list_petitions", "GET"): Access(ALL),
    ("api.get_petition", "GET"): Access(ALL, args=_number),
    ("api.petition_attachment", "GET"): Access(ALL, args=lambda ctx, own: ctx.stored_attachment(own)),
    ("api.perform_action", "POST"): Access(
        ALL, acts=frozenset({Role.HANDLER}), args=_accept, json=lambda _ctx: {"expected_state": "assigned"}
    ),
    ("api.link_petition", "POST"): Access(ALL, args=_number, json=lambda _ctx: {"target": "SN209901010001"}),
    ("api.create_petition", "POST"): Access(
        ALL, acts=frozenset({Role.HOTLINE, Role.DISPATCHER, Role.HANDLER}), json=_petition_body
    ),
    ("api.add_petition_supplement", "POST"): Access(
        ALL,
        acts=frozenset({Role.HOTLINE}),
        args=lambda ctx, own: {"number": ctx.hotline_petition(own).number},
        json=lambda _ctx: {"client_id": "perm-1", "text": "市民补充：路口东南角。"},
    ),
    ("api.list_units", "GET"): Access(ALL),
}


def _routes(app: Flask) -> dict[tuple[str, str], Rule]:
    routes = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(COVERED) or rule.endpoint in NOT_PAGES:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes[(rule.endpoint, method)] = rule
    return routes


def test_every_route_is_in_the_matrix(site: Flask):
    routes = set(_routes(site))
    assert routes, "no routes found"
    assert routes - set(MATRIX) == set(), "routes missing from the permission matrix"
    assert set(MATRIX) - routes == set(), "the matrix lists routes that do not exist"


def test_no_route_escapes_the_matrix(site: Flask):
    elsewhere = {r.endpoint for r in site.url_map.iter_rules() if not r.rule.startswith(COVERED)}
    assert elsewhere - OUTSIDE == set(), "routes outside /admin and /api/v1 that nobody has classified"


def _signed_in(app: Flask, world: World, role: Role | None) -> tuple[FlaskClient, dict[str, str]]:
    """A client signed in to the admin site as `role`'s user, and API headers with a token of the same user."""
    client = app.test_client()
    if role is None:
        return client, {}
    user = world.users[ACTORS[role]]
    with client.session_transaction() as session:
        session["_user_id"] = login_id(user)
        session["_fresh"] = True
    token = issue_token(world.session, user, utcnow())
    world.session.commit()
    return client, {"Authorization": f"Bearer {token.raw}"}


def expected(access: Access, role: Role | None, own: bool, world: World, api: bool) -> str:
    """ "allowed", or the status the request must get."""
    if access.gate == PUBLIC:
        return "allowed"
    if role is None:
        return "401" if api else "login"
    if role not in access.gate:
        return "403"
    district_bound = world.users[ACTORS[role]].district_code is not None
    if access.scoped and not own and district_bound:
        return "404"
    if access.acts is not None and role not in access.acts:
        return "403"
    return "allowed"


def _outcome(response: Any, api: bool) -> str:
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if not api and status == 302 and "/admin/login" in response.headers.get("Location", ""):
        return "login"
    if status in (401, 403, 404):
        return str(status)
    return "allowed"


@pytest.mark.parametrize("key", sorted(MATRIX), ids=lambda key: f"{key[0]}:{key[1]}")
def test_permission_matrix(site: Flask, world: World, fake_wechat: FakeWechatServer, key: tuple[str, str]):
    endpoint, method = key
    access = MATRIX[key]
    rule = _routes(site)[key]
    api = rule.rule.startswith("/api/v1")
    # CSRF has its own tests; here every POST must reach the view to test who the view lets through.
    site.config["WTF_CSRF_ENABLED"] = False
    for code in ("shinan", "laoshan"):
        account = make_account(world.session, code)
        fake_wechat.fake.register_account(account.appid, account.secret)
    world.session.commit()
    ctx = Context(world)

    failures = []
    for role, own in itertools.product([None, *ACTORS], (True, False) if access.scoped else (True,)):
        client, headers = _signed_in(site, world, role)
        ctx.role = role
        values = access.args(ctx, own) if access.args else {}
        path_values = {k: v for k, v in values.items() if k in rule.arguments}
        query = {k: v for k, v in values.items() if k not in rule.arguments}
        with site.test_request_context():
            url = url_for(endpoint, **path_values, **query)
        kwargs: dict[str, Any] = {"headers": headers}
        if method in ("POST", "DELETE"):
            if api:
                kwargs["json"] = access.json(ctx) if access.json else {}
            else:
                kwargs["data"] = dict(access.form)
        if access.setup is not None:
            access.setup(ctx)
        response = client.open(url, method=method, **kwargs)
        # Read the whole body: a streamed answer (the CSV export) must finish inside its own request.
        response.get_data()
        response.close()
        want = expected(access, role, own, world, api)
        got = _outcome(response, api)
        # A public endpoint answers wrong credentials with 401 and signing out sends to the login page: those are
        # its answers, not refusals of the caller.
        if access.gate == PUBLIC and got in ("401", "login"):
            got = "allowed"
        if got != want:
            failures.append(
                f"{role.value if role else 'anonymous'} {'own' if own else 'other'} {method} {url}: "
                f"expected {want}, got {got} ({response.status_code})"
            )
    assert not failures, "\n".join(failures)


def test_the_matrix_signs_in_as_every_role():
    assert set(ACTORS) == set(Role)
