"""Search: each filter narrows the result, pagination, and the CSV export (scoped, masked, audited, safe for
spreadsheets)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from models import AuditLog
from models.enums import Light, PetitionKind


def body(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


@pytest.fixture
def petitions(world):  # type: ignore[no-untyped-def]
    """Four 市南区 petitions (one assigned to urban management, one 执法, one submitted a week later, one with
    text that looks like a spreadsheet formula) and one in 崂山区."""
    assigned = world.assigned_to_urban()
    enforcement = world.petition(kind=PetitionKind.ENFORCEMENT, citizen=None, with_citizen=False,
                                 origin_unit=world.street, content="占道经营需联合执法")
    later = world.petition(content="路灯不亮，晚上出行不便。", now=dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC))
    formula = world.petition(content="=HYPERLINK(\"http://evil.example\") 小区垃圾清运不及时")
    laoshan = world.petition(district_code="laoshan", citizen=None, with_citizen=False, content="崂山区的路灯不亮")
    return {"assigned": assigned, "enforcement": enforcement, "later": later, "formula": formula,
            "laoshan": laoshan}


def numbers_on(page: str, petitions: dict) -> set[str]:  # type: ignore[type-arg]
    return {name for name, p in petitions.items() if p.number in page}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"assigned", "enforcement", "later", "formula"}),
        ("state=assigned", {"assigned"}),
        ("kind=enforcement", {"enforcement"}),
        ("light=blue", {"assigned"}),
        ("q=路灯", {"later"}),
        ("q=%25", set()),  # a literal percent sign, not a wildcard
        ("date_from=2026-11-30", {"later"}),
        ("date_to=2026-11-29", {"assigned", "enforcement", "formula"}),
        ("district=laoshan", set()),  # a district dispatcher cannot widen the scope
    ],
)
def test_filters(login_as, world, petitions, query: str, expected: set[str]) -> None:
    petitions["assigned"].light = Light.BLUE
    world.session.commit()
    page = body(login_as(world.dispatcher).get(f"/admin/search?{query}"))
    assert numbers_on(page, petitions) == expected


def test_filter_by_unit_and_number(login_as, world, petitions) -> None:
    client = login_as(world.dispatcher)
    assert numbers_on(body(client.get(f"/admin/search?unit_id={world.urban.id}")), petitions) == {"assigned"}
    number = petitions["later"].number
    assert numbers_on(body(client.get(f"/admin/search?number={number.lower()}")), petitions) == {"later"}


def test_unreadable_filters_are_reported_not_fatal(login_as, world, petitions) -> None:
    response = login_as(world.dispatcher).get("/admin/search?state=nonsense&date_from=yesterday")
    assert response.status_code == 200
    page = body(response)
    assert "筛选条件「nonsense」无效" in page
    assert "日期「yesterday」格式应为 YYYY-MM-DD" in page


def test_city_roles_search_every_district(login_as, world, petitions) -> None:
    client = login_as(world.leader)
    assert numbers_on(body(client.get("/admin/search")), petitions) == set(petitions)
    assert numbers_on(body(client.get("/admin/search?district=laoshan")), petitions) == {"laoshan"}


def test_pagination(login_as, world) -> None:
    made = [world.petition(content=f"第{i}条诉求，小区噪音扰民") for i in range(23)]
    client = login_as(world.dispatcher)
    first = body(client.get("/admin/search"))
    second = body(client.get("/admin/search?page=2"))
    assert "第 1 / 2 页，共 23 条" in first
    assert "第 2 / 2 页，共 23 条" in second
    on_first = {p.number for p in made if p.number in first}
    on_second = {p.number for p in made if p.number in second}
    assert len(on_first) == 20 and len(on_second) == 3
    assert not on_first & on_second
    assert "第 2 / 2 页" in body(client.get("/admin/search?page=99"))


def test_csv_export_is_scoped_masked_audited_and_safe(login_as, world, petitions) -> None:
    response = login_as(world.district_manager).get("/admin/search.csv?kind=livelihood")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][0] == "编号"
    exported = {row[0] for row in rows[1:]}
    assert exported == {petitions[n].number for n in ("assigned", "later", "formula")}
    phones = {row[12] for row in rows[1:]}
    assert phones == {"138****1234"}
    formula_row = next(row for row in rows[1:] if row[0] == petitions["formula"].number)
    assert formula_row[13].startswith("'=HYPERLINK")
    audit = world.session.scalars(select(AuditLog).where(AuditLog.action == "export_csv")).one()
    assert audit.user_id == world.district_manager.id
    assert "livelihood" in audit.detail


def test_csv_for_a_dispatcher_keeps_phone_numbers(login_as, world, petitions) -> None:
    text = login_as(world.dispatcher).get("/admin/search.csv?state=assigned").get_data(as_text=True)
    assert "13812341234" in text


TEXTS = {
    # name: (title, content, location)
    "barbecue": ("烧烤摊扰民", "小区楼下烧烤摊每天营业到凌晨两点。", "市南区香港中路"),
    "in_location": ("路灯不亮", "晚上出行不便。", "市南区烧烤一条街"),
    "apart": ("油烟", "烧\n烤的油烟很大", ""),
    "latin": ("ABC小区停车", "Wi-Fi 信号差，100% 无法上网", "云霄路_3号"),
    "turkish": ("İSTANBUL 路", "道路积水", ""),
    "boundary": ("噪音", "施工扰民", "香港中路"),
}


@pytest.mark.parametrize(
    "q",
    [
        "烧烤",
        "烤",
        "烧烤摊扰民",
        "abc",
        "wi-fi",
        "100%",
        "_3",
        "%",
        "扰民 香港",
        "烧\n烤",
        "İst",
        "路",
        "不存在的话",
    ],
)
def test_the_text_filter_finds_exactly_the_petitions_whose_title_content_or_location_contain_it(
    login_as, world, q: str
) -> None:
    """Rule: 诉求查询 by text finds a petition when its title, content or location contains the text, whatever the
    case of its letters; on PostgreSQL through the bigram index (models.text_search), with the same result as the
    plain scan."""
    made = {}
    for name, (title, content, location) in TEXTS.items():
        made[name] = world.petition(content=content, location=location)
        made[name].title = title  # a title of its own, not the content's first words
    world.session.commit()
    expected = {
        name
        for name, (title, content, location) in TEXTS.items()
        if any(q.lower() in text.lower() for text in (title, content, location))
    }
    response = login_as(world.dispatcher).get("/admin/search", query_string={"q": q})
    assert response.status_code == 200
    assert numbers_on(body(response), made) == expected
