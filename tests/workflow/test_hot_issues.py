"""Hot issues: petitions of the last days clustered by meaning, place and department type (`workflow.hot_issues`),
and the possible duplicates of a new petition (`workflow.duplicates`), over `workflow.similarity`."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest
from flask import Flask
from scipy.sparse.csgraph import connected_components
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import DuplicateCheck, HotIssue, Petition
from models.enums import DeptType, PetitionState
from tests.factories import make_petition
from workflow import duplicates, hot_issues, similarity
from workflow.hot_issues import compute_hot_issues, read_hot_issues

NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)  # Friday 10:00 in Qingdao

# Eight reports of one broken street lamp on 江苏路 (市南区), each worded differently.
LAMP = [
    "江苏路口的路灯坏了好几天了，晚上黑漆漆的",
    "江苏路路灯不亮，夜里走路看不见，请尽快修理",
    "我家楼下江苏路上的路灯已经一个星期不亮了",
    "反映江苏路路灯损坏问题，晚上一片漆黑很危险",
    "江苏路那边好几盏路灯都不亮了，老人晚上出门摔倒了",
    "您好，江苏路的路灯坏了没人修，晚上开车看不清",
    "江苏路夜间照明路灯熄灭多日，希望相关部门维修",
    "江苏路上路灯坏了，天黑以后孩子放学回家很不安全",
]
# Sets of reports of one matter in other words (the first is LAMP): the thresholds of `workflow.similarity` were
# chosen on them.
PARAPHRASES = [
    [
        "江苏路口的路灯坏了好几天了，晚上黑漆漆的",
        "江苏路路灯不亮，夜里走路看不见，请尽快修理",
        "我家楼下江苏路上的路灯已经一个星期不亮了",
        "反映江苏路路灯损坏问题，晚上一片漆黑很危险",
        "江苏路那边好几盏路灯都不亮了，老人晚上出门摔倒了",
        "您好，江苏路的路灯坏了没人修，晚上开车看不清",
        "江苏路夜间照明路灯熄灭多日，希望相关部门维修",
        "江苏路上路灯坏了，天黑以后孩子放学回家很不安全",
    ],
    [
        "江苏路有家烧烤店油烟很大，每天晚上熏得没法开窗",
        "江苏路烧烤摊油烟扰民，窗户都不敢开",
        "楼下烧烤店排油烟，家里全是烟味",
        "江苏路夜市烧烤烟雾太大，呛得人喘不过气",
    ],
    [
        "小区垃圾好几天没人清运，臭气熏天",
        "垃圾桶满了没人收，味道很大招苍蝇",
        "我们小区的垃圾一直没有清理，夏天太臭了",
    ],
    [
        "单位拖欠工资三个月了，老板一直不给",
        "公司欠我们工资不发，找老板也找不到人",
        "干了半年活，包工头拖欠农民工工资",
    ],
    [
        "小区停水一整天了，也没有提前通知",
        "家里自来水突然停了，什么时候能恢复供水",
        "今天早上开始停水，一直没来水",
    ],
    [
        "楼上装修每天早上七点就开始电钻，噪音太大",
        "邻居装修噪音扰民，周末也不停",
        "隔壁装修电钻声音太吵了，中午都没法休息",
    ],
]

# Twenty unrelated matters: other kinds of problem, other streets and districts, other department types.
UNRELATED: list[tuple[str, str, DeptType]] = [
    ("shinan", "江苏路有家烧烤店油烟很大，每天晚上熏得没法开窗", DeptType.ECOLOGY),
    ("shinan", "八大关景区游客乱停车，堵住了居民出行", DeptType.POLICE),
    ("shinan", "湛山附近小区垃圾好几天没人清运，臭气熏天", DeptType.URBAN_MGMT),
    ("shibei", "台东步行街路灯不亮，晚上很黑", DeptType.URBAN_MGMT),
    ("shibei", "单位拖欠工资三个月了，老板一直不给", DeptType.HRSS),
    ("shibei", "小区停水一整天了，也没有提前通知", DeptType.HOUSING),
    ("licang", "楼上装修每天早上七点就开始电钻，噪音太大", DeptType.ECOLOGY),
    ("licang", "李村集市占道经营，人行道走不了", DeptType.URBAN_MGMT),
    ("licang", "孩子学校门口上下学交通拥堵，希望增加交警疏导", DeptType.POLICE),
    ("laoshan", "沙子口附近的公交车班次太少，等车要一个小时", DeptType.TRANSPORT),
    ("laoshan", "社区医院挂号难，老人看病排队排半天", DeptType.HEALTH),
    ("laoshan", "养老保险转移手续办了两个月还没办好", DeptType.HRSS),
    ("huangdao", "买的新房漏水，开发商不给维修", DeptType.HOUSING),
    ("huangdao", "工厂晚上偷偷排放废气，味道刺鼻", DeptType.ECOLOGY),
    ("huangdao", "菜市场卖的猪肉缺斤少两", DeptType.MARKET),
    ("chengyang", "小区物业乱收停车费，没有任何依据", DeptType.HOUSING),
    ("chengyang", "幼儿园收费太高，还乱收兴趣班费用", DeptType.EDUCATION),
    ("jimo", "村里的土地被占用，补偿款一直没有发放", DeptType.AGRI),
    ("jiaozhou", "电动车充电桩太少，楼道里飞线充电很危险", DeptType.UTILITIES),
    ("pingdu", "网购的家电有质量问题，商家拒绝退货", DeptType.MARKET),
]


def _petition(
    session: Session, district: str, content: str, dept: DeptType, hours_ago: float, **kw
) -> Petition:
    p = make_petition(
        session, district_code=district, content=content, now=NOW - dt.timedelta(hours=hours_ago), **kw
    )
    p.dept_type = dept
    return p


def _world(session: Session) -> tuple[list[Petition], list[Petition]]:
    lamps = [
        _petition(session, "shinan", text, DeptType.URBAN_MGMT, 5 + 11 * i) for i, text in enumerate(LAMP)
    ]
    others = [_petition(session, d, text, dept, 3 + 7 * i) for i, (d, text, dept) in enumerate(UNRELATED)]
    session.commit()
    return lamps, others


def test_the_thresholds_join_each_paraphrase_set_and_keep_different_matters_apart():
    texts = [similarity.meaning_text("", text, "shinan") for group in PARAPHRASES for text in group]
    labels = [k for k, group in enumerate(PARAPHRASES) for _ in group]
    rows = similarity.text_rows(texts)
    scores = (rows @ rows.T).toarray()
    for k in range(len(PARAPHRASES)):
        idx = [i for i, label in enumerate(labels) if label == k]
        joined = scores[np.ix_(idx, idx)] >= similarity.CLUSTER_THRESHOLD
        assert connected_components(joined, directed=False)[0] == 1, PARAPHRASES[k]
    apart = [scores[i, j] for i, j in itertools.combinations(range(len(texts)), 2) if labels[i] != labels[j]]
    assert max(apart) < similarity.DUPLICATE_THRESHOLD


def test_the_paraphrases_of_one_matter_are_more_alike_than_different_matters():
    # The threshold's footing: every lamp report is joined to another above it; the unrelated are below.
    best = [max(similarity.text_similarity(a, b) for b in LAMP if b != a) for a in LAMP]
    assert min(best) >= similarity.CLUSTER_THRESHOLD
    assert max(
        similarity.text_similarity(a, b) for a, b in itertools.combinations([u[1] for u in UNRELATED], 2)
    ) < (similarity.DUPLICATE_THRESHOLD)


def test_eight_reports_of_one_problem_in_one_street_are_one_hot_issue_and_the_unrelated_none(
    app: Flask, db_session: Session
):
    lamps, others = _world(db_session)
    report = compute_hot_issues(app, NOW)
    assert report.petitions == 28
    issues = list(db_session.scalars(select(HotIssue).order_by(HotIssue.rank)))
    assert len(issues) == 1
    issue = issues[0]
    assert issue.size == 8 and issue.days == 7 and issue.districts == ["shinan"]
    assert issue.street == "江苏路街道" and issue.dept_type == DeptType.URBAN_MGMT.value
    assert "路灯" in issue.title and "路灯" in issue.terms
    assert sum(issue.daily) == 8 and issue.previous == 0
    _, views = read_hot_issues(db_session, 7, None, 10)
    assert sorted(views[0].numbers) == sorted(p.number for p in lamps)
    assert not set(views[0].numbers) & {p.number for p in others}


def test_a_district_reads_only_hot_issues_with_its_petitions(app: Flask, db_session: Session):
    _world(db_session)
    compute_hot_issues(app, NOW)
    assert len(read_hot_issues(db_session, 7, ["shinan"], 10)[1]) == 1
    computed, views = read_hot_issues(db_session, 7, ["laoshan"], 10)
    assert views == [] and computed == NOW


def test_the_same_matter_in_another_street_is_another_hot_issue(app: Flask, db_session: Session):
    _world(db_session)
    for i, text in enumerate(LAMP[:4]):
        _petition(db_session, "shinan", text.replace("江苏路", "香港中路"), DeptType.URBAN_MGMT, 2 + i)
    db_session.commit()
    compute_hot_issues(app, NOW)
    sizes = sorted(i.size for i in db_session.scalars(select(HotIssue)))
    assert sizes == [4, 8]


def test_the_previous_week_counts_towards_the_trend(app: Flask, db_session: Session):
    _world(db_session)
    for i, text in enumerate(LAMP[:3]):
        _petition(db_session, "shinan", text, DeptType.URBAN_MGMT, 24 * 8 + i)
    db_session.commit()
    compute_hot_issues(app, NOW)
    issue = db_session.scalars(select(HotIssue)).one()
    assert (issue.size, issue.previous) == (8, 3)
    # A second run replaces the window's rows.
    compute_hot_issues(app, NOW + dt.timedelta(minutes=15))
    db_session.expire_all()
    assert db_session.scalars(select(HotIssue)).one().computed_at == NOW + dt.timedelta(minutes=15)


def test_a_new_petition_like_an_open_one_is_a_possible_duplicate(app: Flask, db_session: Session):
    lamps, others = _world(db_session)
    for p in lamps[1:]:
        p.state = PetitionState.HANDLING
    unrelated_new = _petition(db_session, "shinan", "社区的健身器材坏了，孩子玩的时候受伤", DeptType.CIVIL, 1)
    new = _petition(db_session, "shinan", "江苏路的路灯坏了，晚上路上一片漆黑", DeptType.URBAN_MGMT, 0.5)
    db_session.commit()
    report = duplicates.check_new_petitions(app, NOW)
    assert report.checked == len(UNRELATED) + 3  # every petition not dispatched yet
    found = duplicates.candidates_for(db_session, [new.id, unrelated_new.id, others[0].id])
    assert new.id in found and unrelated_new.id not in found and others[0].id not in found
    assert {c.number for c in found[new.id]} <= {p.number for p in lamps}
    assert all(c.score >= similarity.DUPLICATE_THRESHOLD for c in found[new.id])
    # Checked once: a second run compares nothing again.
    assert duplicates.check_new_petitions(app, NOW).checked == 0
    assert db_session.scalar(select(DuplicateCheck).where(DuplicateCheck.petition_id == new.id)) is not None


def test_a_closed_petition_is_no_longer_offered(app: Flask, db_session: Session):
    lamps, _ = _world(db_session)
    lamps[0].state = PetitionState.HANDLING
    new = _petition(db_session, "shinan", "江苏路的路灯坏了，晚上路上一片漆黑", DeptType.URBAN_MGMT, 0.5)
    for p in lamps[1:]:
        p.state = PetitionState.CLOSED
    db_session.commit()
    duplicates.check_new_petitions(app, NOW)
    assert [c.number for c in duplicates.candidates_for(db_session, [new.id])[new.id]] == [lamps[0].number]
    lamps[0].state = PetitionState.CLOSED
    db_session.commit()
    assert duplicates.candidates_for(db_session, [new.id]) == {}


@pytest.mark.parametrize("job", ["hot_issues", "duplicate_candidates"])
def test_run_once_runs_the_similarity_jobs(app: Flask, db_session: Session, job: str):
    _world(db_session)
    result = app.test_cli_runner().invoke(args=["scheduler", "run-once", job])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{job}: ")


def test_the_window_is_configured(app: Flask):
    assert hot_issues.windows(app) == (7,)
