"""Open311 GeoReport v2 at /open311/v2 (issue 14, item 5), exercised by a small client written from the standard's
description (http://wiki.open311.org/GeoReport_v2): it lists services, files requests with an api_key, reads their
status as the workflow moves, filters them, and meets the standard's errors."""

from __future__ import annotations

import datetime as dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from admin_web.api.tokens import issue_token
from models import Petition, User, utcnow
from models.enums import Channel, DeptType, PetitionKind, PetitionState, Role
from tests.admin_web import f2_support
from tests.admin_web.f2_support import World
from tests.factories import make_petition, make_user
from tests.live import serve
from workflow.engine import perform

site, api_client, world = f2_support.site, f2_support.api_client, f2_support.world

REPLY = {
    "petitioner_info": "网格员转来的居民诉求",
    "policy_basis": "《青岛市城市照明管理办法》第九条",
    "result": "路灯所已于当晚更换金门路 12 号门前的路灯灯具，恢复照明。",
    "responsible_person": "王科长",
    "contact_phone": "0532-88880000",
}
TO_REPLY = [
    ("dispatcher", "dispatch"),
    ("urban_handler", "accept"),
    ("urban_handler", "submit_reply"),
    ("urban_reviewer", "approve_reply"),
    ("dispatcher", "send_reply"),
]
LAMP = {
    "service_code": "urban_mgmt",
    "description": "金门路12号门前路灯连续三晚不亮，行人摸黑走路。",
    "lat": "36.0621",
    "long": "120.3786",
    "address_string": "市南区金门路12号",
    "jurisdiction_id": "shinan",
}


@dataclass
class Answer:
    status: int
    body: Any


class GeoReportClient:
    """An Open311 GeoReport v2 client: JSON format, form-encoded POSTs, the api_key as a parameter."""

    def __init__(self, http: FlaskClient, api_key: str | None, root: str = "/open311/v2") -> None:
        self.http, self.api_key, self.root = http, api_key, root

    def _answer(self, response: Any) -> Answer:
        return Answer(response.status_code, json.loads(response.get_data(as_text=True)))

    def services(self) -> Answer:
        return self._answer(self.http.get(f"{self.root}/services.json"))

    def service_definition(self, code: str) -> Answer:
        return self._answer(self.http.get(f"{self.root}/services/{code}.json"))

    def post_request(self, headers: dict[str, str] | None = None, **params: str) -> Answer:
        form = dict(params)
        if self.api_key is not None:
            form.setdefault("api_key", self.api_key)
        return self._answer(self.http.post(f"{self.root}/requests.json", data=form, headers=headers or {}))

    def _key_param(self) -> dict[str, str]:
        return {"api_key": self.api_key} if self.api_key is not None else {}

    def requests(self, **filters: str) -> Answer:
        query = {**self._key_param(), **filters}
        return self._answer(self.http.get(f"{self.root}/requests.json", query_string=query))

    def request(self, service_request_id: str) -> Answer:
        url = f"{self.root}/requests/{service_request_id}.json"
        return self._answer(self.http.get(url, query_string=self._key_param()))


def _open311_user(world: World, district_code: str | None = None) -> User:
    user = make_user(world.session, Role.OPEN311, district_code=district_code)
    world.session.commit()
    return user


def _key(world: World, user: User) -> str:
    issued = issue_token(world.session, user, utcnow(), "open311")
    world.session.commit()
    return issued.raw


@pytest.fixture
def client311(world: World, api_client: FlaskClient) -> GeoReportClient:
    return GeoReportClient(api_client, _key(world, _open311_user(world)))


def _petition(world: World, number: str) -> Petition:
    world.session.expire_all()
    return world.session.scalars(select(Petition).where(Petition.number == number)).one()


def _act(world: World, petition: Petition, steps: list[tuple[str, str]]) -> None:
    params = {
        "dispatch": {"unit_id": world.urban.id, "nature": "complaint", "complexity": "simple"},
        "submit_reply": REPLY,
    }
    for key, action in steps:
        perform(world.session, petition, action, world.users[key], utcnow(), **params.get(action, {}))
        world.session.commit()


def _w3(instant: dt.datetime | None) -> str:
    """A W3C datetime to the second, in Qingdao's time as the interface writes it."""
    assert instant is not None
    return instant.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(microsecond=0).isoformat()


def _error(answer: Answer, code: int) -> str:
    """The description of a standard error answer with `code`."""
    assert answer.status == code, answer.body
    assert isinstance(answer.body, list) and len(answer.body) == 1, answer.body
    assert answer.body[0]["code"] == code and isinstance(answer.body[0]["description"], str)
    return answer.body[0]["description"]


def test_a_client_lists_services_files_a_request_and_reads_it_open_then_closed_with_the_reply(
    world: World, client311: GeoReportClient
):
    """Rule (issue 14, Open311): services are the department types; a filed request is a petition at the district
    platform, open while it is handled, closed once the reply is sent, with the reply's result as status_notes."""
    services = client311.services()
    assert services.status == 200 and len(services.body) == len(DeptType)
    urban = next(s for s in services.body if s["service_code"] == "urban_mgmt")
    assert urban["service_name"] == DeptType.URBAN_MGMT.label
    assert urban["metadata"] is False and urban["type"] == "realtime" and urban["group"]
    assert client311.service_definition("urban_mgmt").body == {"service_code": "urban_mgmt", "attributes": []}

    photo = "https://grid.example.cn/photos/lamp-12.jpg"
    filed = client311.post_request(**LAMP, account_id="grid-7", device_id="pad-3", media_url=photo)
    assert filed.status == 201, filed.body
    [receipt] = filed.body
    number = receipt["service_request_id"]
    assert receipt["account_id"] == "grid-7" and number in receipt["service_notice"]
    petition = _petition(world, number)
    assert petition.channel == Channel.OPEN311 and petition.state == PetitionState.PENDING_DISPATCH
    assert petition.dept_type == DeptType.URBAN_MGMT and petition.district_code == "shinan"
    assert (petition.latitude, petition.longitude, petition.location) == (
        36.0621,
        120.3786,
        LAMP["address_string"],
    )

    [read] = client311.request(number).body
    assert read["status"] == "open" and read["status_notes"] is None
    assert read["service_code"] == "urban_mgmt" and read["service_name"] == DeptType.URBAN_MGMT.label
    assert read["description"] == LAMP["description"] and read["agency_responsible"] == world.platform.name
    assert (read["lat"], read["long"], read["address"]) == (36.0621, 120.3786, LAMP["address_string"])
    assert read["media_url"] == photo and read["jurisdiction_id"] == "shinan"
    assert read["requested_datetime"] == _w3(petition.created_at)

    _act(world, petition, TO_REPLY[:2])
    [handling] = client311.request(number).body
    assert handling["status"] == "open" and handling["agency_responsible"] == world.urban.name
    assert handling["expected_datetime"] == _w3(_petition(world, number).deadline)

    _act(world, _petition(world, number), TO_REPLY[2:4])
    assert client311.request(number).body[0]["status"] == "open"  # replied, not yet sent to the citizen

    _act(world, _petition(world, number), TO_REPLY[4:])
    [replied] = client311.request(number).body
    assert replied["status"] == "closed" and replied["status_notes"] == REPLY["result"]
    assert replied["updated_datetime"] == _w3(_petition(world, number).updated_at)


def test_the_standard_filters_select_requests(world: World, client311: GeoReportClient):
    """Rule (GeoReport v2 GET requests): service_request_id (a comma list, overriding the rest), service_code,
    start_date / end_date (the last 90 days when neither is given), status and jurisdiction_id; 执法 petitions, which
    are between units, are never listed."""
    s = world.session
    now = utcnow()
    lamp = make_petition(s, now=now - dt.timedelta(days=2), dept_type=DeptType.URBAN_MGMT)
    school = make_petition(s, now=now - dt.timedelta(days=10), dept_type=DeptType.EDUCATION)
    laoshan = make_petition(
        s, district_code="laoshan", now=now - dt.timedelta(days=1), dept_type=DeptType.URBAN_MGMT
    )
    old = make_petition(s, now=now - dt.timedelta(days=120), dept_type=DeptType.URBAN_MGMT)
    enforcement = make_petition(s, kind=PetitionKind.ENFORCEMENT, now=now, origin_unit=world.street)
    s.commit()
    _act(world, lamp, TO_REPLY)

    def numbers(**filters: str) -> list[str]:
        answer = client311.requests(**filters)
        assert answer.status == 200, answer.body
        return [item["service_request_id"] for item in answer.body]

    assert numbers() == [laoshan.number, lamp.number, school.number]  # newest first, within 90 days
    assert enforcement.number not in numbers(service_request_id=enforcement.number)
    assert numbers(service_request_id=f"{old.number},{school.number}") == [school.number, old.number]
    assert numbers(service_request_id=old.number, status="open", service_code="education") == [old.number]
    assert numbers(service_code="urban_mgmt") == [laoshan.number, lamp.number]
    assert numbers(service_code="urban_mgmt,education", jurisdiction_id="shinan") == [
        lamp.number,
        school.number,
    ]
    assert numbers(status="closed") == [lamp.number]
    assert numbers(status="open") == [laoshan.number, school.number]
    assert numbers(status="open,closed") == [laoshan.number, lamp.number, school.number]
    day = (now - dt.timedelta(days=10)).astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    assert numbers(start_date=day, end_date=day) == [school.number]
    start = (now - dt.timedelta(days=200)).isoformat()
    end = (now - dt.timedelta(days=5)).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    assert numbers(start_date=start, end_date=end) == [school.number, old.number]


def test_errors_answer_in_the_standards_format(
    world: World, api_client: FlaskClient, client311: GeoReportClient
):
    """Rule (GeoReport v2 errors): ``[{"code", "description"}]`` with that HTTP status: 400 for an unknown service,
    bad dates, a bad status or district, a missing location or description; 403 without a valid Open311 api_key;
    404 for an unknown request id or service; .xml refused with a clear 400."""
    assert "service_code" in _error(client311.post_request(**{**LAMP, "service_code": "spaceport"}), 400)
    assert "service_code" in _error(client311.post_request(**{**LAMP, "service_code": ""}), 400)
    assert "api_key" in _error(GeoReportClient(api_client, None).post_request(**LAMP), 403)
    assert "api_key" in _error(GeoReportClient(api_client, "not-a-key").post_request(**LAMP), 403)
    hotline_key = _key(world, world.users["hotline"])
    assert "Open311" in _error(GeoReportClient(api_client, hotline_key).post_request(**LAMP), 403)
    no_place = {k: v for k, v in LAMP.items() if k not in ("lat", "long", "address_string")}
    _error(client311.post_request(**no_place), 400)
    _error(client311.post_request(**{**LAMP, "lat": "north"}), 400)
    _error(client311.post_request(**{**LAMP, "lat": "95"}), 400)  # off the globe (the hotline intake's check)
    _error(client311.post_request(**{**LAMP, "description": " "}), 400)
    _error(
        client311.post_request(**{**LAMP, "description": "灯" * 5001}), 400
    )  # workflow.limits' content limit
    _error(client311.post_request(**{**LAMP, "phone": "call me maybe"}), 400)
    _error(client311.post_request(**{**LAMP, "media_url": "javascript:alert(1)"}), 400)
    _error(client311.post_request(**{**LAMP, "jurisdiction_id": "atlantis"}), 400)
    _error(client311.post_request(**{k: v for k, v in LAMP.items() if k != "jurisdiction_id"}), 400)
    assert "start_date" in _error(client311.requests(start_date="yesterday"), 400)
    _error(client311.requests(end_date="2026-11-27T09:30:00"), 400)  # no offset
    _error(client311.requests(start_date="2026-11-20", end_date="2026-11-10"), 400)
    _error(client311.requests(status="pending"), 400)
    _error(client311.requests(service_code="spaceport"), 400)
    _error(client311.requests(jurisdiction_id="atlantis"), 400)
    _error(client311.request("SN202611259999"), 404)
    _error(client311.service_definition("spaceport"), 404)
    assert ".json" in _error(Answer(*_raw(api_client.get("/open311/v2/services.xml"))), 400)
    _error(Answer(*_raw(api_client.get("/open311/v2/nothing-here.json"))), 404)
    _error(Answer(*_raw(api_client.delete("/open311/v2/requests.json"))), 405)
    assert world.session.scalar(select(Petition.id).where(Petition.channel == Channel.OPEN311)) is None


def _raw(response: Any) -> tuple[int, Any]:
    return response.status_code, json.loads(response.get_data(as_text=True))


def test_a_retried_post_files_one_petition(world: World, client311: GeoReportClient):
    """Rule (issue 14, Open311): a client retrying a POST never files twice: by its Idempotency-Key, or without one by
    what it sent that day; the same key with other content is a 409 naming no petition of another client."""
    headers = {"Idempotency-Key": "grid-7:20261125:0001"}
    first = client311.post_request(headers=headers, **LAMP, account_id="grid-7")
    again = client311.post_request(headers=headers, **LAMP, account_id="grid-7")
    assert (first.status, again.status) == (201, 200)
    assert again.body == first.body
    _error(client311.post_request(headers=headers, **{**LAMP, "description": "另一件事：井盖缺失。"}), 409)

    bare = client311.post_request(**{**LAMP, "description": "金门路14号井盖缺失。"})
    bare_again = client311.post_request(**{**LAMP, "description": "金门路14号井盖缺失。"})
    other = client311.post_request(**{**LAMP, "description": "金门路16号井盖缺失。"})
    assert (bare.status, bare_again.status, other.status) == (201, 200, 201)
    assert bare.body[0]["service_request_id"] == bare_again.body[0]["service_request_id"]
    numbers = {a.body[0]["service_request_id"] for a in (first, bare, other)}
    count = len(world.session.scalars(select(Petition.id).where(Petition.channel == Channel.OPEN311)).all())
    assert len(numbers) == 3 == count

    # Another client's identical key files its own petition: keys are per client.
    second_client = GeoReportClient(client311.http, _key(world, _open311_user(world)))
    elsewhere = second_client.post_request(headers=headers, **LAMP)
    assert elsewhere.status == 201 and elsewhere.body[0]["service_request_id"] not in numbers


def test_personal_data_is_kept_for_the_handler_and_never_returned(world: World, client311: GeoReportClient):
    """Rule (issue 14, Open311): the petitioner's name and telephone reach the handler but no GET answer; a phone
    number written into the description is masked."""
    filed = client311.post_request(
        **{**LAMP, "description": "路灯不亮，请回电13912345678。"},
        first_name="红",
        last_name="李",
        phone="13800001111",
        email="li@example.com",
    )
    number = filed.body[0]["service_request_id"]
    petition = _petition(world, number)
    assert (petition.contact_name, petition.contact_phone) == ("李红", "13800001111")

    wechat_photo = "https://mmbiz.qpic.cn/citizen-photo.jpg"
    wechat = make_petition(
        world.session,
        citizen=world.citizen,
        now=utcnow(),
        attachments=[{"media_id": "m-1", "url": wechat_photo}],
    )
    world.session.commit()

    for answer in (client311.request(number), client311.requests()):
        text = json.dumps(answer.body, ensure_ascii=False)
        assert "13800001111" not in text and "李红" not in text and "li@example.com" not in text
        assert "13912345678" not in text and "139****5678" in text
        assert world.citizen.phone not in text and wechat_photo not in text
    assert client311.request(wechat.number).body[0]["media_url"] is None


def test_a_district_client_files_only_in_its_district(world: World, api_client: FlaskClient):
    """Rule: a client tied to one district files there without naming it, and cannot file in another."""
    client = GeoReportClient(api_client, _key(world, _open311_user(world, district_code="laoshan")))
    without = {k: v for k, v in LAMP.items() if k != "jurisdiction_id"}
    filed = client.post_request(**without)
    assert (
        filed.status == 201
        and _petition(world, filed.body[0]["service_request_id"]).district_code == "laoshan"
    )
    assert "laoshan" in _error(client.post_request(**LAMP), 400)


def test_a_manager_issues_and_revokes_a_clients_key_from_the_command_line(
    site: Flask, world: World, api_client: FlaskClient
):
    """Operations: ``qingsu open311 add-client`` creates the client and prints its api_key once; ``revoke-keys``
    stops it."""
    runner = site.test_cli_runner()
    added = runner.invoke(args=["open311", "add-client", "--username", "grid-app", "--name", "市南网格App"])
    assert added.exit_code == 0, added.output
    key = next(line.split(": ", 1)[1] for line in added.output.splitlines() if line.startswith("api_key: "))
    client = GeoReportClient(api_client, key)
    assert client.post_request(**LAMP).status == 201

    revoked = runner.invoke(args=["open311", "revoke-keys", "--username", "grid-app"])
    assert revoked.exit_code == 0 and "revoked 1" in revoked.output
    world.session.expire_all()
    _error(client.post_request(**{**LAMP, "description": "另一盏路灯不亮。"}), 403)
    refused = runner.invoke(args=["open311", "issue-key", "--username", "hotline-nobody"])
    assert refused.exit_code != 0


@pytest.mark.parametrize("idempotency_key", ["grid-7:20261125:0009", None], ids=["with-key", "without-key"])
def test_concurrent_retries_over_http_file_one_petition(
    world: World, site: Flask, idempotency_key: str | None
):
    """Rule (issue 14, Open311): a client that retries at once (a timeout on its side) against the live server gets
    the same, single request in every answer, with its Idempotency-Key or without one."""
    key = _key(world, _open311_user(world))
    world.session.close()
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    start = threading.Barrier(4)

    with serve(site) as base_url:

        def post(_: int) -> tuple[int, str]:
            start.wait()
            response = requests.post(
                f"{base_url}/open311/v2/requests.json",
                data={**LAMP, "api_key": key},
                headers=headers,
                timeout=30,
            )
            return response.status_code, response.json()[0]["service_request_id"]

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(post, range(4)))

    assert sorted(status for status, _ in answers) == [200, 200, 200, 201]
    assert len({number for _, number in answers}) == 1
    assert (
        len(world.session.scalars(select(Petition.id).where(Petition.channel == Channel.OPEN311)).all()) == 1
    )


def test_reading_requests_needs_a_key_unless_the_city_publishes_them(
    app: Flask, world: World, api_client: FlaskClient, client311: GeoReportClient
):
    """Privacy (issue 14, Open311): a petition's text is the citizen's words, so requests.json and requests/<id>.json
    answer only an Open311 client's api_key unless ``[open311] public_read`` is set; services.json is always open."""
    number = client311.post_request(**LAMP).body[0]["service_request_id"]
    anonymous = GeoReportClient(api_client, None)
    assert anonymous.services().status == 200
    assert "api_key" in _error(anonymous.requests(), 403)
    assert "api_key" in _error(anonymous.request(number), 403)
    assert "api_key" in _error(GeoReportClient(api_client, "not-a-key").request(number), 403)
    assert client311.request(number).body[0]["service_request_id"] == number

    app.config["OPEN311"]["public_read"] = True
    assert anonymous.request(number).body[0]["service_request_id"] == number
    assert [r["service_request_id"] for r in anonymous.requests().body] == [number]
