"""`qingsu seed-demo` in demo mode: demo petitions in every interesting state, made through the workflow, once."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import func, select

from classifier.corpus import Example
from classifier.model import train
from models import Citizen, Notification, Petition, PetitionEvent, Reply, utcnow
from models.enums import Light, NotificationState, PetitionKind, PetitionState, ReplyState, UnitLevel
from qingsu.config import EXAMPLE_CONFIG, load_toml
from qingsu.demo_petitions import SCRIPTS, working_day_before
from tests.conftest import make_test_config
from wechat.fake import create_fake_app
from workflow.calendar import WorkingCalendar, load_calendar
from workflow.messages import template_data
from workflow.notify import EVENTS
from workflow.rates import ALL, on_time_rates, resolution_rates, satisfaction_rates

S = PetitionState


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model trained on the demo texts and the departments their dispatchers chose (fast, unlike the
    default model), so the seed finds a model file and stores suggestions."""
    examples = [
        Example(text=script.content, dept_type=step.params["dept_type"])
        for script in SCRIPTS
        for step in script.steps[:1]
        if "dept_type" in step.params
    ]
    path = tmp_path_factory.mktemp("demo-model") / "classifier.joblib"
    train(examples, source="test", with_metrics=False).save(path)
    return path


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    return tmp_path / "no-model" / "classifier.joblib"


@pytest.fixture
def app_config(tmp_path: Path, model_file: Path):
    with EXAMPLE_CONFIG.open("rb") as fp:
        accounts = load_toml(fp)["ACCOUNTS"]
    return make_test_config(tmp_path, model_file, DEMO=True, ACCOUNTS=accounts)


def seed(runner) -> str:
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result.output


class TestWithAModel:
    @pytest.fixture
    def model_file(self, trained_model: Path) -> Path:
        return trained_model

    def test_seeding_creates_petitions_in_every_state_through_the_workflow(self, app, runner, db_session):
        before = utcnow()
        output = seed(runner)
        s = db_session
        # The lights job wrote the lights in its own session after seed-demo committed: read them afresh.
        s.expire_all()
        petitions = list(s.scalars(select(Petition).order_by(Petition.id)))
        assert f"{len(petitions)} demo petition(s) added" in output
        assert 20 <= len(petitions) <= 30

        # Every state a visitor should see, except accountability (two failed assessments in a row).
        assert {p.state for p in petitions} == set(S) - {S.ACCOUNTABILITY}
        districts = Counter(p.district_code for p in petitions)
        assert districts.most_common(1)[0][0] == "shinan" and districts["shinan"] > len(petitions) / 2
        assert len(districts) >= 4

        def having(state: S) -> list[Petition]:
            return [p for p in petitions if p.state == state]

        fresh = [p for p in having(S.PENDING_DISPATCH) if p.accepted_at is None and p.handling_round == 1]
        assert fresh and all(p.suggestion and p.suggestion["departments"] for p in fresh)
        assert any(p.suggestion_accepted is not None for p in petitions)
        assert any(p.current_unit.level == UnitLevel.COMMUNITY for p in having(S.ASSIGNED))
        at_departments = [p for p in having(S.HANDLING) if p.level == UnitLevel.DISTRICT_DEPARTMENT]
        assert {Light.YELLOW, Light.RED} <= {p.light for p in at_departments}
        enforcement = [p for p in petitions if p.kind == PetitionKind.ENFORCEMENT]
        assert enforcement and all(
            p.lead_unit is not None and p.cooperating_units and p.origin_unit is not None for p in enforcement
        )
        assert having(S.AT_CITY)[0].current_unit.level == UnitLevel.CITY_PLATFORM
        assert having(S.CITY_REVIEW)[0].current_unit.level == UnitLevel.CITY_DEPARTMENT
        assert any(p.handling_round == 2 for p in having(S.PENDING_DISPATCH))
        assert having(S.ASSESSMENT)[0].handling_round == 2
        assert all(p.inadmissible_code is not None for p in having(S.REJECTED))

        # Rated and replied petitions give the dashboard real figures, not 0 % or 100 % everywhere.
        for rates in (resolution_rates(s), satisfaction_rates(s), on_time_rates(s)):
            assert 0 < rates[ALL].value < 1
        assert count(s, Reply, Reply.state == ReplyState.SENT) >= len(having(S.CLOSED))

        # The histories: each petition's events chain from submission to its present state, in time order, in the
        # past, on working days; the citizens were told.
        calendar = load_calendar(s, app.config["CALENDAR"]["timezone"])
        for petition in petitions:
            events = petition.events
            assert events[0].action == "submit" and events[-1].to_state == petition.state
            for earlier, later in pairwise(events):
                assert later.from_state == earlier.to_state
                assert earlier.created_at < later.created_at
            assert all(calendar.is_working_day(calendar.local_date(e.created_at)) for e in events)
            assert events[-1].created_at < before
        assert count(s, PetitionEvent) > 3 * len(petitions)
        assert count(s, Notification) > len(petitions)
        openids = set(s.scalars(select(Citizen.openid)))
        assert openids and all(openid.startswith("demo-citizen-") for openid in openids)

    def test_a_second_run_adds_no_petitions(self, runner, db_session):
        seed(runner)
        petitions, events = count(db_session, Petition), count(db_session, PetitionEvent)
        assert "no demo petitions added" in seed(runner)
        assert (count(db_session, Petition), count(db_session, PetitionEvent)) == (petitions, events)


def test_without_a_model_file_petitions_go_in_unsuggested_and_nothing_is_trained(runner, db_session, model_file):
    seed(runner)
    assert count(db_session, Petition) == len(SCRIPTS)
    assert all(p.suggestion is None for p in db_session.scalars(select(Petition)))
    assert not model_file.exists()


def test_outside_demo_mode_no_petitions_are_created(app, runner, db_session):
    app.config["DEMO"] = False
    assert "no demo users" in seed(runner)
    assert count(db_session, Petition) == 0
    assert count(db_session, Citizen) == 0


@pytest.mark.parametrize(
    ("today", "n", "expected"),
    [
        ("2026-11-23", 1, "2026-11-20"),  # Monday → the Friday before
        ("2026-11-28", 1, "2026-11-27"),  # Saturday → Friday
        ("2026-10-08", 1, "2026-09-30"),  # first day after the National Day holiday → the last day before it
        ("2026-11-27", 5, "2026-11-20"),
    ],
)
def test_working_day_before_counts_back_over_weekends_and_holidays(today, n, expected):
    calendar = WorkingCalendar()
    assert working_day_before(calendar, dt.date.fromisoformat(today), n) == dt.date.fromisoformat(expected)


# Each event's facts as `workflow.effects` and `workflow.jobs` give them, with values longer than WeChat allows.
LONG = "小区楼下烧烤摊每天营业到凌晨两点，油烟和噪音严重扰民，多次反映无果，希望有关部门尽快处理"
EVENT_FACTS: dict[str, dict[str, object]] = {
    "accepted": {"deadline": "2026-12-15T16:00:00+00:00", "time_limit_days": 15},
    "rejected": {"code": "not_admissible", "reason": LONG, "advice": LONG, "text": LONG},
    "assigned": {"unit_name": "市南区城市管理局（综合行政执法局）八大关中队"},
    "extended": {"deadline": "2026-12-22T16:00:00+00:00", "extra_working_days": 5},
    "replied": {"reply_id": 1, "unit_name": "市南区城市管理局（综合行政执法局）", "result": LONG,
                "policy_basis": LONG, "responsible_person": "刘队长", "contact_phone": "0532-82876110"},
    "evaluation_request": {},
    "evaluation_reminder": {"reminder": "2026-11-30T02:00:00+00:00"},
    "second_handling": {},
    "linked": {},
    "unlinked": {},
    "assessment_started": {},
    "accountability": {"unit_name": "市南区城市管理局（综合行政执法局）八大关中队", "failures": 2},
    "closed": {"satisfaction": "基本满意", "resolution": "基本解决"},
}


# A closing after a performance assessment carries no rating.
@pytest.mark.parametrize(("event", "facts"), [*sorted(EVENT_FACTS.items()), ("closed", {})])
def test_the_demo_templates_render_every_event_within_wechats_rules(event, facts):
    from qingsu.demo_templates import DEMO_TEMPLATE_FIELDS, demo_template_id, register_demo_templates
    from wechat.fake import FakeWechat

    assert set(EVENT_FACTS) == set(EVENTS)
    notification = Notification(
        event=event,
        payload={"number": "SN202611230001", "state": "handling", "state_label": "答复待区平台审核",
                 "title": LONG, "round": 2, **facts},
        created_at=dt.datetime(2026, 11, 23, 2, 30, tzinfo=dt.UTC),
    )
    data = template_data(DEMO_TEMPLATE_FIELDS[event], notification)
    fake = FakeWechat()
    register_demo_templates(fake, ["wx-demo"])
    answer = fake.send_template("wx-demo", {"touser": "demo-citizen-1", "template_id": demo_template_id(event),
                                            "data": data})
    assert answer["errcode"] == 0
    assert data["character_string1"]["value"] == "SN202611230001"
    assert all(item["value"] for item in data.values())


def test_the_seeded_notifications_reach_the_demo_fake_as_template_messages(app, runner, db_session):
    from tests.live import serve
    from workflow.outbox import TEMPLATE, deliver_due

    seed(runner)
    fake = app.extensions["qingsu.fake_wechat"]
    with serve(create_fake_app(fake)) as url:
        app.config["WECHAT"]["api_base_url"] = url
        deliver_due(app, utcnow(), limit=count(db_session, Notification))
    db_session.expire_all()
    notifications = list(db_session.scalars(select(Notification)))
    states = Counter(n.state for n in notifications)
    assert set(states) <= {NotificationState.SENT, NotificationState.SKIPPED}, [
        (n.event, n.state, n.last_error) for n in notifications if n.state != NotificationState.SENT]
    assert states[NotificationState.SENT] > len(SCRIPTS)
    assert {n.channel_used for n in notifications if n.state == NotificationState.SENT} == {TEMPLATE}
    delivered = fake.messages()
    assert len(delivered) == states[NotificationState.SENT] and {m.kind for m in delivered} == {"template"}
    # Nobody wrote to the accounts: the customer-service window is closed for every demo citizen.
    assert all(c.last_message_at is None for c in db_session.scalars(select(Citizen)))


def test_rule_a_communitys_reply_is_approved_by_its_reviewer_in_the_demo(app, runner, db_session):
    """Rule: 答复内容须经办理单位专门科(处)室及负责人审核把关后，提交区(市)平台 — in the demo every street and
    community has a reviewer: the community's handler submits the reply on the admin site and the community's
    reviewer approves it from the review queue, on to the district platform."""
    import re

    from models import Unit, User
    from models.enums import Role
    from tests.admin_web.conftest import _forget_request_cache

    # The test keeps one application context: each request must start with an empty `g`, as a real one does.
    app.before_request(_forget_request_cache)
    seed(runner)
    s = db_session
    for unit in s.scalars(select(Unit).where(Unit.level.in_((UnitLevel.STREET, UnitLevel.COMMUNITY)))):
        reviewers = s.scalars(select(User).where(User.unit_id == unit.id, User.role == Role.UNIT_REVIEWER)).all()
        assert [r.active for r in reviewers] == [True], unit.name
    petition = s.scalars(select(Petition).where(Petition.content.like("%路灯坏了%"))).one()
    assert petition.state == S.HANDLING and petition.current_unit.name == "太平角社区"

    def sign_in(username: str):  # type: ignore[no-untyped-def]
        client = app.test_client()
        page = client.get("/admin/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = client.post("/admin/login", data={"csrf_token": token, "username": username,
                                                     "password": "qingsu-demo"})
        assert response.status_code == 302, username
        return client

    def post_action(client, action: str, **fields: str):  # type: ignore[no-untyped-def]
        page = client.get(f"/admin/petitions/{petition.number}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        return client.post(f"/admin/petitions/{petition.number}/actions/{action}",
                           data={"csrf_token": token, "expected_state": petition.state.value, **fields})

    handler = sign_in("shinan_community")
    response = post_action(handler, "submit_reply", petitioner_info="孙女士，太平角社区居民",
                           policy_basis="《青岛市城市照明管理办法》", result="社区已联系照明维护单位，路灯已修复。",
                           responsible_person="社区网格员", contact_phone="0532-83861234")
    assert response.status_code == 302
    s.expire_all()
    assert petition.state == S.UNIT_REVIEW

    reviewer = sign_in("shinan_community_reviewer")
    assert petition.number in reviewer.get("/admin/review").get_data(as_text=True)
    assert post_action(reviewer, "approve_reply", note="同意").status_code == 302
    s.expire_all()
    assert petition.state == S.PLATFORM_REVIEW
    approval = s.scalars(select(PetitionEvent).where(PetitionEvent.petition_id == petition.id)
                         .order_by(PetitionEvent.id.desc())).first()
    assert (approval.action, approval.actor_user.username) == ("approve_reply", "shinan_community_reviewer")
