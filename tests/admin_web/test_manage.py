"""The managers' pages: scope by district, write-only account secrets, test connection and menu through the (fake)
WeChat API, units and responsibility lists, users and roles, the holiday calendar, templates, dead letters; audits."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text

from admin_web.api.tokens import issue_token
from admin_web.passwords import verify_password
from bot.menu import menu_definition
from models import (
    ApiToken,
    AuditLog,
    HolidayOverride,
    HolidayYear,
    Notification,
    NotificationTemplate,
    Petition,
    PetitionEvent,
    Unit,
    User,
    WechatAccount,
    utcnow,
)
from models.enums import NotificationState, Role, UnitLevel
from tests.admin_web import f2_support
from tests.admin_web.f2_support import FakeWechatServer, World
from tests.factories import make_account, make_citizen, make_petition
from workflow.calendar import missing_schedule_message
from workflow.calendar_changes import RECOMPUTED
from workflow.deadlines import deadline_text
from workflow.engine import perform

# The shared fixtures (tests/admin_web/conftest.py belongs to the admin site's own tests).
site, world, fake_wechat = f2_support.site, f2_support.world, f2_support.fake_wechat

Login = Callable[[User], FlaskClient]
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SECRET = "s3cr3t-of-the-shinan-account-0001"


@pytest.fixture
def manager(world: World, login_as: Login) -> FlaskClient:
    """A client signed in as 市南区's platform manager."""
    return login_as(world.users["district_manager"])


@pytest.fixture
def city(world: World, login_as: Login) -> FlaskClient:
    """A client signed in as the city platform manager."""
    return login_as(world.users["city_manager"])


def _token(client: FlaskClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match, path
    return match.group(1)


def _post(client: FlaskClient, path: str, data: dict | None = None, page: str = "/admin/manage/"):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": _token(client, page), **(data or {})})


def _audits(world: World, action: str) -> list[AuditLog]:
    world.session.expire_all()
    return list(world.session.scalars(select(AuditLog).where(AuditLog.action == action)))


# --- scope ---------------------------------------------------------------------------------------------------------


def test_a_district_manager_sees_only_their_district(world: World, manager: FlaskClient):
    page = manager.get("/admin/manage/").get_data(as_text=True)
    assert "市南区" in page and "崂山区" not in page
    assert manager.get("/admin/manage/districts/laoshan/account").status_code == 404
    assert manager.get(f"/admin/manage/units/{world.laoshan_urban.id}").status_code == 404
    assert manager.get("/admin/manage/users?district=laoshan").status_code == 404
    users = manager.get("/admin/manage/users").get_data(as_text=True)
    assert world.users["dispatcher"].username in users
    assert world.users["laoshan_dispatcher"].username not in users


def test_the_city_manager_sees_every_district(world: World, city: FlaskClient):
    page = city.get("/admin/manage/").get_data(as_text=True)
    assert "市南区" in page and "崂山区" in page
    assert city.get("/admin/manage/districts/laoshan/account").status_code == 200


def test_staff_who_are_not_managers_are_refused(world: World, login_as: Login):
    client = login_as(world.users["dispatcher"])
    assert client.get("/admin/manage/").status_code == 403


def test_posts_without_a_csrf_token_are_refused(world: World, manager: FlaskClient):
    response = manager.post("/admin/manage/districts/shinan/account", data={"appid": "wxabcdef123456"})
    assert response.status_code == 400
    assert world.session.scalars(select(WechatAccount)).all() == []


# --- WeChat account ----------------------------------------------------------------------------------------------


def test_account_secrets_are_stored_encrypted_never_shown_and_kept_when_left_blank(
    world: World, manager: FlaskClient
):
    path = "/admin/manage/districts/shinan/account"
    saved = _post(
        manager,
        path,
        {
            "appid": "wxshinan12345678",
            "token": "shinantoken",
            "encoding_aes_key": AES_KEY,
            "secret": SECRET,
            "enabled": "1",
        },
        page=path,
    )
    assert saved.status_code == 302
    page = manager.get(path).get_data(as_text=True)
    for secret in ("shinantoken", AES_KEY, SECRET):
        assert secret not in page
    assert "••••••••" + SECRET[-4:] in page
    raw = world.session.execute(text("SELECT token, encoding_aes_key, secret FROM wechat_account")).one()
    assert "shinantoken" not in raw[0] and AES_KEY not in raw[1] and SECRET not in raw[2]

    # Saving again with the secret fields blank changes the appid and keeps every secret.
    assert _post(manager, path, {"appid": "wxshinan87654321", "enabled": "1"}, page=path).status_code == 302
    world.session.expire_all()
    account = world.session.scalars(select(WechatAccount)).one()
    assert (account.appid, account.token, account.encoding_aes_key, account.secret) == (
        "wxshinan87654321",
        "shinantoken",
        AES_KEY,
        SECRET,
    )
    details = [a.detail for a in _audits(world, "account_saved")]
    assert len(details) == 2 and "appid" in details[1] and "secret" not in details[1]
    assert not any(SECRET in d or "shinantoken" in d for d in details)


def test_invalid_account_fields_are_refused_by_field(world: World, manager: FlaskClient):
    path = "/admin/manage/districts/shinan/account"
    response = _post(
        manager, path, {"appid": "not-an-appid", "token": "x", "encoding_aes_key": "short"}, page=path
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "AppID" in body and "43位" in body and "新建公众号须填写此项" in body
    assert world.session.scalars(select(WechatAccount)).all() == []


def test_a_manager_sets_the_service_line_the_bot_gives_for_human_help(
    world: World, manager: FlaskClient, login_as: Login
):
    from models import District

    path = "/admin/manage/districts/shinan/account"
    assert "人工服务" in manager.get(path).get_data(as_text=True)
    response = _post(manager, "/admin/manage/districts/shinan/service",
                     {"hotline": " 0532-83000000 ", "service_hours": "工作日 9:00-17:00"}, page=path)
    assert response.status_code == 302
    world.session.expire_all()
    district = world.session.get(District, "shinan")
    assert (district.hotline, district.service_hours) == ("0532-83000000", "工作日 9:00-17:00")
    assert [a.target for a in _audits(world, "district_service_saved")] == ["district:shinan"]
    assert _post(manager, "/admin/manage/districts/shinan/service", {"hotline": "1" * 41}, page=path).status_code == 302
    world.session.expire_all()
    assert world.session.get(District, "shinan").hotline == "0532-83000000"
    # Another district's manager may not.
    other = login_as(world.users["city_dispatcher"])
    assert other.post("/admin/manage/districts/shinan/service", data={"hotline": "110"}).status_code in (302, 400, 403)
    world.session.expire_all()
    assert world.session.get(District, "shinan").hotline == "0532-83000000"


def test_plain_mode_by_clearing_the_aes_key(world: World, manager: FlaskClient):
    make_account(world.session, "shinan", appid="wxshinan12345678")
    world.session.commit()
    path = "/admin/manage/districts/shinan/account"
    assert (
        _post(
            manager, path, {"appid": "wxshinan12345678", "clear_aes_key": "1", "enabled": "1"}, page=path
        ).status_code
        == 302
    )
    world.session.expire_all()
    assert world.session.scalars(select(WechatAccount)).one().safe_mode is False


def test_test_connection_and_push_menu_go_through_the_wechat_api(
    world: World, manager: FlaskClient, fake_wechat: FakeWechatServer
):
    account = make_account(world.session, "shinan", appid="wxshinan12345678", secret=SECRET)
    world.session.commit()
    fake_wechat.fake.register_account(account.appid, SECRET)
    path = "/admin/manage/districts/shinan/account"

    tested = _post(manager, f"{path}/test", page=path)
    assert tested.status_code == 302
    assert "连接成功" in manager.get(path).get_data(as_text=True)
    pushed = _post(manager, f"{path}/menu", page=path)
    assert pushed.status_code == 302
    assert fake_wechat.fake.menu(account.appid) == menu_definition()
    world.session.expire_all()
    assert world.session.get(WechatAccount, account.id).menu_pushed_at is not None

    # 40164: this server's address is not on the account's IP whitelist.
    fake_wechat.fake.fail_next("/cgi-bin/getcallbackip", errcode=40164)
    _post(manager, f"{path}/test", page=path)
    failed = manager.get(path).get_data(as_text=True)
    assert "连接失败" in failed and "40164" in failed
    tested_details = [a.detail for a in _audits(world, "account_tested")]
    assert tested_details[0] == "ok" and tested_details[1].startswith("failed: 40164")
    assert [a.detail for a in _audits(world, "menu_pushed")] == ["ok"]


# --- units ---------------------------------------------------------------------------------------------------------


def test_a_manager_adds_a_community_under_a_street_with_its_responsibilities(
    world: World, manager: FlaskClient
):
    response = _post(
        manager,
        "/admin/manage/units/new",
        {
            "name": "汇泉社区",
            "level": "community",
            "parent_id": str(world.street.id),
            "phone": "0532-82861234",
            "responsibilities": "环境卫生\n\n  邻里纠纷调解  \n",
            "district_code": "laoshan",
        },
        page="/admin/manage/units/new",
    )
    assert response.status_code == 302
    unit = world.session.scalars(select(Unit).where(Unit.name == "汇泉社区")).one()
    # A district manager's units are always in their own district, whatever the form says.
    assert (unit.district_code, unit.level, unit.parent_id) == (
        "shinan",
        UnitLevel.COMMUNITY,
        world.street.id,
    )
    assert unit.responsibilities == "环境卫生\n邻里纠纷调解"
    assert "汇泉社区" in manager.get("/admin/manage/units").get_data(as_text=True)
    assert _audits(world, "unit_created")[0].target == f"unit:{unit.id}"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "无上级社区", "level": "community"}, "村(社区)须隶属于"),
        ({"name": "某局", "level": "district_department"}, "职能部门须选择部门类型"),
        ({"name": "某市直部门", "level": "city_department"}, "请选择"),
    ],
)
def test_invalid_units_are_refused(world: World, manager: FlaskClient, form: dict, message: str):
    response = _post(manager, "/admin/manage/units/new", form, page="/admin/manage/units/new")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_editing_a_units_responsibility_list(world: World, manager: FlaskClient):
    path = f"/admin/manage/units/{world.urban.id}"
    response = _post(
        manager,
        path,
        {
            "name": world.urban.name,
            "dept_type": "urban_mgmt",
            "responsibilities": "占道经营\n违法建设",
            "active": "1",
        },
        page=path,
    )
    assert response.status_code == 302
    world.session.expire_all()
    assert world.session.get(Unit, world.urban.id).responsibilities == "占道经营\n违法建设"
    assert "responsibilities" in _audits(world, "unit_updated")[0].detail


# --- users ---------------------------------------------------------------------------------------------------------


def test_a_manager_creates_a_handler_in_a_unit_of_their_district(world: World, manager: FlaskClient):
    form = {
        "username": "new_handler",
        "display_name": "王五",
        "role": "handler",
        "unit_id": str(world.urban.id),
        "password": "long enough password",
    }
    assert _post(manager, "/admin/manage/users/new", form, page="/admin/manage/users/new").status_code == 302
    user = world.session.scalars(select(User).where(User.username == "new_handler")).one()
    assert (user.role, user.district_code, user.unit_id) == (Role.HANDLER, "shinan", world.urban.id)
    assert verify_password(user.password_hash, "long enough password")
    assert _audits(world, "user_created")[0].target == "user:new_handler"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"role": "leader"}, "请选择可分配的角色"),
        ({"unit_id": "laoshan"}, "须属于一个承办单位"),
        ({"password": "short"}, "初始密码至少"),
        ({"username": "a b"}, "用户名须为"),
    ],
)
def test_a_district_manager_cannot_create_users_outside_their_powers(
    world: World, manager: FlaskClient, change: dict, message: str
):
    form = {
        "username": "someone",
        "display_name": "某人",
        "role": "handler",
        "unit_id": str(world.urban.id),
        "password": "long enough password",
        **change,
    }
    if form["unit_id"] == "laoshan":
        form["unit_id"] = str(world.laoshan_urban.id)
    response = _post(manager, "/admin/manage/users/new", form, page="/admin/manage/users/new")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert world.session.scalars(select(User).where(User.username == "someone")).first() is None


def test_the_city_manager_creates_city_roles_without_a_district(world: World, city: FlaskClient):
    form = {
        "username": "leader2",
        "display_name": "市领导二",
        "role": "leader",
        "district_code": "shinan",
        "password": "long enough password",
    }
    assert _post(city, "/admin/manage/users/new", form, page="/admin/manage/users/new").status_code == 302
    assert world.session.scalars(select(User).where(User.username == "leader2")).one().district_code is None


def test_deactivating_a_user_ends_their_api_access(world: World, manager: FlaskClient, site):  # type: ignore[no-untyped-def]
    handler = world.users["urban_handler"]
    issued = issue_token(world.session, handler, utcnow())
    world.session.commit()
    response = _post(manager, f"/admin/manage/users/{handler.id}/active", {"active": "0"})
    assert response.status_code == 302
    api = site.test_client().get("/api/v1/units", headers={"Authorization": f"Bearer {issued.raw}"})
    assert api.status_code == 401
    # Reactivating the account does not bring the old token back.
    _post(manager, f"/admin/manage/users/{handler.id}/active", {"active": "1"})
    again = site.test_client().get("/api/v1/units", headers={"Authorization": f"Bearer {issued.raw}"})
    assert again.status_code == 401
    assert _audits(world, "user_deactivated")[0].target == f"user:{handler.username}"


def test_a_manager_cannot_deactivate_themselves_or_another_districts_users(
    world: World, manager: FlaskClient
):
    me = world.users["district_manager"]
    _post(manager, f"/admin/manage/users/{me.id}/active", {"active": "0"})
    world.session.expire_all()
    assert world.session.get(User, me.id).active
    other = world.users["laoshan_dispatcher"]
    assert _post(manager, f"/admin/manage/users/{other.id}/active", {"active": "0"}).status_code == 404


def test_a_password_reset_is_shown_once_unlocks_and_revokes_tokens(world: World, manager: FlaskClient):
    handler = world.users["urban_handler"]
    handler.locked_until = utcnow() + dt.timedelta(minutes=10)
    issue_token(world.session, handler, utcnow())
    world.session.commit()
    response = _post(manager, f"/admin/manage/users/{handler.id}/password")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = re.search(r'class="new-password">([^<]+)<', response.get_data(as_text=True)).group(1)
    world.session.expire_all()
    user = world.session.get(User, handler.id)
    assert verify_password(user.password_hash, password) and user.locked_until is None
    assert all(
        t.revoked for t in world.session.scalars(select(ApiToken).where(ApiToken.user_id == handler.id))
    )
    assert password not in manager.get("/admin/manage/users").get_data(as_text=True)
    assert password not in " ".join(a.detail for a in _audits(world, "password_reset"))


# --- calendar --------------------------------------------------------------------------------------------------


def test_the_city_manager_marks_a_day_and_removes_it_again(world: World, city: FlaskClient):
    page = "/admin/manage/calendar?year=2027"
    response = _post(
        city,
        "/admin/manage/calendar",
        {"day": "2027-02-11", "is_working_day": "0", "note": "春节"},
        page=page,
    )
    assert response.status_code == 302
    shown = city.get(page).get_data(as_text=True)
    assert "2027-02-11" in shown and "春节" in shown
    assert world.session.get(HolidayOverride, dt.date(2027, 2, 11)).is_working_day is False
    assert _post(city, "/admin/manage/calendar/remove", {"day": "2027-02-11"}, page=page).status_code == 302
    world.session.expire_all()
    assert world.session.get(HolidayOverride, dt.date(2027, 2, 11)) is None
    assert [
        a.action for a in world.session.scalars(select(AuditLog).where(AuditLog.action.like("holiday_%")))
    ] == ["holiday_set", "holiday_removed"]


def test_every_manager_may_correct_the_city_wide_calendar(world: World, manager: FlaskClient, login_as: Login):
    """Rule: the banner asks the managers to enter the year, so every manager can (issue 13); other roles cannot."""
    page = "/admin/manage/calendar"
    assert _post(manager, page, {"day": "2027-02-11", "is_working_day": "0"}, page=page).status_code == 302
    assert world.session.get(HolidayOverride, dt.date(2027, 2, 11)).is_working_day is False
    dispatcher = login_as(world.users["dispatcher"])
    refused = _post(dispatcher, page, {"day": "2027-02-12", "is_working_day": "0"}, page="/admin/queue")
    assert refused.status_code == 403
    world.session.expire_all()
    assert world.session.get(HolidayOverride, dt.date(2027, 2, 12)) is None


def test_a_year_without_a_schedule_is_warned_about(world: World, city: FlaskClient):
    # chinesecalendar 1.11.0 knows no year after 2026, and the warning looks 60 days ahead of today.
    horizon = utcnow() + dt.timedelta(days=60)
    page = city.get("/admin/manage/calendar?year=2030").get_data(as_text=True)
    assert missing_schedule_message(max(horizon.year, 2027)) in page
    # The statutory fallback of 2030, marked as such.
    assert "法定节假日（未经确认）" in page and "尚未确认" in page
    assert "这一年没有节假日数据" not in page


# --- templates and dead letters ---------------------------------------------------------------------------------


def test_a_template_mapping_is_validated_and_saved(world: World, manager: FlaskClient):
    path = "/admin/manage/templates/shinan/replied"
    bad = _post(
        manager,
        path,
        {"template_id": "TPL1", "fields": '{"thing1": {"source": "title", "type": "poem"}}'},
        page=path,
    )
    assert bad.status_code == 422 and "thing1" in bad.get_data(as_text=True)
    broken = _post(manager, path, {"template_id": "TPL1", "fields": "{not json"}, page=path)
    assert broken.status_code == 422
    good = _post(
        manager,
        path,
        {"template_id": "TPL1", "enabled": "1", "fields": '{"thing1": {"source": "title", "type": "thing"}}'},
        page=path,
    )
    assert good.status_code == 302
    template = world.session.scalars(select(NotificationTemplate)).one()
    assert (template.event, template.template_id, template.fields) == (
        "replied",
        "TPL1",
        {"thing1": {"source": "title", "type": "thing"}},
    )
    assert manager.get("/admin/manage/templates/laoshan/replied").status_code == 404
    assert manager.get("/admin/manage/templates/shinan/no_such_event").status_code == 404


def _dead(world: World, district: str) -> Notification:
    citizen = world.citizen if district == "shinan" else make_citizen(world.session, district)
    row = Notification(
        district_code=district,
        citizen_id=citizen.id,
        event="replied",
        payload={"number": "X1"},
        state=NotificationState.DEAD,
        attempts=8,
        client_msg_id=f"dead-{district}",
        last_error="47003 data.thing1 invalid",
        created_at=utcnow(),
    )
    world.session.add(row)
    world.session.commit()
    return row


def test_dead_letters_are_listed_by_district_and_retried(world: World, manager: FlaskClient):
    own, other = _dead(world, "shinan"), _dead(world, "laoshan")
    page = manager.get("/admin/manage/dead-letters").get_data(as_text=True)
    assert "47003 data.thing1 invalid" in page and "laoshan" not in page
    assert _post(manager, f"/admin/manage/dead-letters/{other.id}/retry").status_code == 404
    assert _post(manager, f"/admin/manage/dead-letters/{own.id}/retry").status_code == 302
    world.session.expire_all()
    assert world.session.get(Notification, own.id).state == NotificationState.PENDING
    assert world.session.get(Notification, other.id).state == NotificationState.DEAD
    assert _audits(world, "notification_retried")[0].target == f"notification:{own.id}"


def test_the_outbox_backlog_is_shown_to_the_manager_of_its_district(world: World, manager: FlaskClient):
    """Issue 11: the admin site shows the outbox backlog (what waits, what is due, what keeps failing, and why)."""
    now = utcnow()
    for n, (district, error) in enumerate(
        (("shinan", None), ("shinan", "errcode -1: system error"), ("laoshan", "errcode -1: elsewhere"))
    ):
        row = _dead(world, district)
        row.client_msg_id = f"pending-{n}"
        row.state, row.attempts, row.last_error = NotificationState.PENDING, 1 if error else 0, error
        row.next_attempt_at = now - dt.timedelta(minutes=5) if n else now + dt.timedelta(hours=1)
    world.session.commit()
    page = manager.get("/admin/manage/dead-letters").get_data(as_text=True)
    backlog = page[page.index("待发送的消息") : page.index("发送失败的消息</h2>")]
    assert "shinan" in backlog and "laoshan" not in backlog and "elsewhere" not in backlog
    assert '<td data-label="待发送">2</td>' in backlog and '<td data-label="已到发送时间">1</td>' in backlog
    assert "errcode -1: system error" in backlog


# --- importing the State Council's notice -------------------------------------------------------------------------

NOTICE_2027 = """一、元旦：1月1日（周五）至3日（周日）放假，共3天。
二、春节：2月5日（农历除夕、周五）至12日（农历正月初七、周五）放假调休，共8天。2月20日（周六）上班。"""


def _running_complaint(world: World) -> Petition:
    """A complex complaint (5 working days) accepted on Monday 1 February 2027, due by the statutory fallback at the
    end of Friday 12 February (春节 5–8 off, 补假 9–10)."""
    accepted = dt.datetime(2027, 2, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    petition = make_petition(world.session, citizen=world.citizen, now=accepted)
    perform(world.session, petition, "dispatch", world.users["dispatcher"], accepted, unit_id=world.urban.id,
            nature="complaint", complexity="complex", dept_type="urban_mgmt")
    world.session.commit()
    assert deadline_text(petition.deadline) == "2月12日（周五）24时前"
    return petition


# In 2026, when 2027 is a year nobody has confirmed yet (and its dates are said with their year).
IN_2026 = pytest.mark.parametrize(
    "clock", [dt.datetime(2026, 11, 25, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))], indirect=True
)


@IN_2026
def test_a_manager_imports_the_2027_notice_and_a_running_deadline_moves(world: World, manager: FlaskClient):
    """Rule: managers import a year's notice by pasting its text: the parsed days are shown, nothing is saved until
    they confirm; then the year is confirmed, a running deadline moves and its history says so (issue 13)."""
    petition = _running_complaint(world)
    page = "/admin/manage/calendar/import?year=2027"
    preview = _post(manager, "/admin/manage/calendar/import", {"year": "2027", "text": NOTICE_2027, "step": "preview"},
                    page=page)
    assert preview.status_code == 200
    shown = preview.get_data(as_text=True)
    assert "2027-02-11" in shown and "2027-02-20" in shown and "调休上班" in shown and "将改变" in shown
    assert world.session.scalars(select(HolidayOverride)).all() == []

    done = _post(manager, "/admin/manage/calendar/import", {"year": "2027", "text": NOTICE_2027, "step": "confirm"},
                 page=page)
    assert done.status_code == 302
    world.session.expire_all()
    assert world.session.get(HolidayYear, 2027).confirmed_by_id == world.users["district_manager"].id
    assert deadline_text(world.session.get(Petition, petition.id).deadline) == "2月16日（周二）24时前"
    [event] = world.session.scalars(
        select(PetitionEvent).where(PetitionEvent.petition_id == petition.id, PetitionEvent.action == RECOMPUTED)
    )
    assert event.note.endswith("改为2027年2月16日（周二）24时前")  # the year: not this year's
    assert [a.target for a in _audits(world, "holiday_notice_imported")] == ["year:2027"]
    calendar_page = manager.get("/admin/manage/calendar?year=2027").get_data(as_text=True)
    assert "件办理中诉求的答复期限已按新的安排重算" in calendar_page
    assert "已确认（导入国务院办公厅放假通知" in calendar_page
    assert missing_schedule_message(2027) not in calendar_page


def test_a_notice_that_does_not_add_up_is_shown_with_its_reason_and_nothing_is_saved(
    world: World, manager: FlaskClient
):
    """Rule: bad input gets a clear error and loses nothing: the pasted text comes back with the reason."""
    wrong_year = NOTICE_2027.replace("周五", "周四", 1)
    response = _post(manager, "/admin/manage/calendar/import",
                     {"year": "2027", "text": wrong_year, "step": "confirm"}, page="/admin/manage/calendar/import")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "2027年1月1日是周五，通知写的是周四" in body and "农历除夕" in body
    world.session.expire_all()
    assert world.session.scalars(select(HolidayOverride)).all() == []
    assert world.session.get(HolidayYear, 2027) is None


def test_a_manager_confirms_a_year_as_shown(world: World, city: FlaskClient):
    """Rule: a year counts as known only once a manager confirms it; confirming keeps the statutory days shown."""
    page = "/admin/manage/calendar?year=2027"
    assert "按下表确认2027年安排" in city.get(page).get_data(as_text=True)
    assert _post(city, "/admin/manage/calendar/confirm", {"year": "2027"}, page=page).status_code == 302
    world.session.expire_all()
    assert world.session.get(HolidayYear, 2027) is not None
    assert world.session.get(HolidayOverride, dt.date(2027, 1, 1)).is_working_day is False
    shown = city.get(page).get_data(as_text=True)
    assert "已确认（管理员确认" in shown and "元旦（法定）" in shown
    assert _audits(world, "holiday_year_confirmed")[0].target == "year:2027"


def test_rule_the_units_page_marks_a_unit_without_an_active_reviewer(world: World, manager: FlaskClient):
    """Rule: 答复内容须经办理单位专门科(处)室及负责人审核把关 — a unit with handlers but no active reviewer could
    never get a reply approved: the manager's units page says so, unless the unit lets its handlers self-review."""
    page = manager.get("/admin/manage/units").get_data(as_text=True)
    row = lambda unit: page[page.index(f">{unit.name}<"):].split("</tr>")[0]  # noqa: E731
    assert "1 名审核人" in row(world.urban)
    assert "无在岗审核人" in row(world.community) and "无在岗审核人" in row(world.housing)
    assert "答复审核" in page and "无在岗审核人" not in row(world.platform)

    world.users["urban_reviewer"].active = False
    world.session.commit()
    page = manager.get("/admin/manage/units").get_data(as_text=True)
    assert "无在岗审核人" in row(world.urban)


def test_rule_only_a_managers_explicit_unit_setting_lets_handlers_approve_their_replies(
    world: World, manager: FlaskClient
):
    """Rule: a handler approves the unit's reply only where the manager ticked 允许承办人自行审核 for the unit (off by
    default, and recorded in the audit log)."""
    path = f"/admin/manage/units/{world.community.id}"
    form = {"name": world.community.name, "parent_id": str(world.street.id), "active": "1"}
    assert 'name="handler_self_review" value="1" >' in manager.get(path).get_data(as_text=True)
    assert _post(manager, path, {**form, "handler_self_review": "1"}, page=path).status_code == 302
    world.session.expire_all()
    assert world.session.get(Unit, world.community.id).handler_self_review is True
    assert "handler_self_review" in _audits(world, "unit_updated")[0].detail
    assert "承办人自审" in manager.get("/admin/manage/units").get_data(as_text=True)
    assert _post(manager, path, form, page=path).status_code == 302
    world.session.expire_all()
    assert world.session.get(Unit, world.community.id).handler_self_review is False
