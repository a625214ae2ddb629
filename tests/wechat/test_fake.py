"""The fake WeChat API: WeChat's formats and error codes, failure injection, deduplication, the demo inbox."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask

from qingsu import create_app
from wechat.fake import FakeWechat, create_fake_app, mount_fake

APPID = "wxfake00000000000001"
SECRET = "s3cret"
OPENID = "o-citizen-1"
TEMPLATE = "tpl-accepted"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeWechat:
    fake = FakeWechat(clock=clock)
    fake.register_account(APPID, SECRET)
    return fake


@pytest.fixture
def api(fake: FakeWechat) -> Iterator[Any]:
    """The fake's WSGI app through Flask's test client (tests of HTTP behaviour use the real server below)."""
    with create_fake_app(fake).test_client() as client:
        yield client


def stable_token(api: Any, force: bool = False, appid: str = APPID, secret: str = SECRET) -> dict[str, Any]:
    body = {"grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force}
    return api.post("/cgi-bin/stable_token", json=body).get_json()


def send_template(api: Any, token: str, **overrides: Any) -> dict[str, Any]:
    body = {"touser": OPENID, "template_id": TEMPLATE, "data": {"thing1": {"value": "路灯不亮"}}} | overrides
    return api.post(f"/cgi-bin/message/template/send?access_token={token}", json=body).get_json()


# --------------------------------------------------------------------------------------------------- tokens


def test_stable_token_checks_credentials(api: Any) -> None:
    assert stable_token(api, appid="wxunknown")["errcode"] == 40013
    assert stable_token(api, secret="wrong")["errcode"] == 40125
    bad_grant = api.post("/cgi-bin/stable_token", json={"grant_type": "x", "appid": APPID, "secret": SECRET})
    assert bad_grant.get_json()["errcode"] == 40002
    assert api.post("/cgi-bin/stable_token").get_json()["errcode"] == 44002


def test_stable_token_is_stable_until_forced_or_nearly_expired(api: Any, clock: Clock) -> None:
    first = stable_token(api)
    assert first["expires_in"] == 7200
    clock.now += 3600
    again = stable_token(api)
    assert again == {"access_token": first["access_token"], "expires_in": 3600}

    clock.now += 3600 - 200  # 200 s left: below the five minutes stable_token keeps a token for
    renewed = stable_token(api)
    assert renewed["access_token"] != first["access_token"]
    assert (
        send_template(api, first["access_token"])["errcode"] == 0
    )  # the old one still works until it expires

    forced = stable_token(api, force=True)
    assert forced["access_token"] != renewed["access_token"]
    assert send_template(api, renewed["access_token"])["errcode"] == 40001
    assert send_template(api, forced["access_token"])["errcode"] == 0


def test_basic_token_is_new_each_time_and_the_old_one_has_five_minutes(api: Any, clock: Clock) -> None:
    query = f"/cgi-bin/token?grant_type=client_credential&appid={APPID}&secret={SECRET}"
    first = api.get(query).get_json()["access_token"]
    second = api.get(query).get_json()["access_token"]
    assert first != second
    assert send_template(api, first)["errcode"] == 0
    clock.now += 301
    assert send_template(api, first)["errcode"] == 42001
    assert send_template(api, second)["errcode"] == 0


def test_api_calls_need_a_valid_token(api: Any, fake: FakeWechat) -> None:
    assert api.post("/cgi-bin/message/template/send", json={}).get_json()["errcode"] == 41001
    assert send_template(api, "made-up")["errcode"] == 40001
    token = stable_token(api)["access_token"]
    fake.expire_tokens(APPID)
    assert send_template(api, token)["errcode"] == 42001
    fresh = stable_token(api)["access_token"]
    fake.revoke_tokens(APPID)
    answer = send_template(api, fresh)
    assert answer["errcode"] == 40001
    assert "rid:" in answer["errmsg"]


# --------------------------------------------------------------------------------------------------- messages


@pytest.mark.parametrize(
    ("kind", "value", "accepted"),
    [
        ("thing", "一" * 20, True),
        ("thing", "一" * 21, False),
        ("phrase", "已受理", True),
        ("phrase", "已经受理完毕了", False),
        ("phrase", "done", False),
        ("character_string", "SN202611270001", True),
        ("character_string", "A" * 33, False),
        ("character_string", "编号1", False),
        ("time", "2026年11月27日 09:30", True),
        ("time", "下周一", False),
        ("const", "x" * 200, True),
    ],
)
def test_template_values_follow_their_keyword_type(
    api: Any, fake: FakeWechat, kind: str, value: str, accepted: bool
) -> None:
    fake.register_template(APPID, TEMPLATE, {"field1": kind})
    token = stable_token(api)["access_token"]
    answer = send_template(api, token, data={"field1": {"value": value}})
    if accepted:
        assert answer["errcode"] == 0
        assert [m.data for m in fake.messages()] == [{"field1": {"value": value}}]
    else:
        assert answer["errcode"] == 47003
        assert "data.field1.value" in answer["errmsg"]
        assert fake.messages() == []


def test_template_send_delivers_and_answers_msgid(api: Any, fake: FakeWechat) -> None:
    fake.register_template(APPID, TEMPLATE, {"thing1": "thing"})
    token = stable_token(api)["access_token"]
    answer = send_template(api, token, url="https://example.org/p/1")
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok"
    [message] = fake.messages(APPID, OPENID)
    assert (message.msgid, message.kind, message.template_id, message.url) == (
        answer["msgid"],
        "template",
        TEMPLATE,
        "https://example.org/p/1",
    )
    assert message.text() == "thing1: 路灯不亮"
    assert send_template(api, token, template_id="tpl-undeclared")["errcode"] == 40037
    assert send_template(api, token, data="not an object")["errcode"] == 47001


def test_unsubscribed_citizens_get_nothing(api: Any, fake: FakeWechat) -> None:
    token = stable_token(api)["access_token"]
    fake.unsubscribe(APPID, OPENID)
    assert send_template(api, token)["errcode"] == 43004
    custom = {"touser": OPENID, "msgtype": "text", "text": {"content": "hi"}}
    assert (
        api.post(f"/cgi-bin/message/custom/send?access_token={token}", json=custom).get_json()["errcode"]
        == 43004
    )
    fake.subscribe(APPID, OPENID)
    assert send_template(api, token)["errcode"] == 0
    assert len(fake.messages()) == 1


def test_client_msg_id_deduplicates_for_ten_minutes(api: Any, fake: FakeWechat, clock: Clock) -> None:
    token = stable_token(api)["access_token"]
    first = send_template(api, token, client_msg_id="n-1")
    duplicate = send_template(api, token, client_msg_id="n-1")
    assert (duplicate["errcode"], duplicate["msgid"]) == (45065, first["msgid"])
    assert send_template(api, token, client_msg_id="n-1", touser="o-other")["errcode"] == 0
    assert send_template(api, token, client_msg_id="n-2")["errcode"] == 0
    assert len(fake.messages(openid=OPENID)) == 2
    clock.now += 601
    assert send_template(api, token, client_msg_id="n-1")["errcode"] == 0


def test_customer_service_text_and_the_48_hour_window(api: Any, fake: FakeWechat) -> None:
    token = stable_token(api)["access_token"]
    body = {"touser": OPENID, "msgtype": "text", "text": {"content": "您的诉求已受理 <b>]]>"}}
    url = f"/cgi-bin/message/custom/send?access_token={token}"
    assert api.post(url, json=body).get_json() == {"errcode": 0, "errmsg": "ok"}
    assert [m.content for m in fake.messages()] == ["您的诉求已受理 <b>]]>"]
    fake.close_window(APPID, OPENID)
    assert api.post(url, json=body).get_json()["errcode"] == 45015
    assert api.post(url, json={"touser": OPENID, "msgtype": "text"}).get_json()["errcode"] == 47001


# ------------------------------------------------------------------------------------------ menu, ips, media


MENU = {
    "button": [
        {"type": "click", "name": "我要反映", "key": "REPORT"},
        {"type": "click", "name": "我的诉求", "key": "MY_PETITIONS"},
        {
            "name": "办事指南",
            "sub_button": [{"type": "view", "name": "受理范围", "url": "https://example.org/scope"}],
        },
    ]
}


def test_menu_create_and_get(api: Any, fake: FakeWechat) -> None:
    token = stable_token(api)["access_token"]
    assert api.get(f"/cgi-bin/menu/get?access_token={token}").get_json()["errcode"] == 46003
    created = api.post(f"/cgi-bin/menu/create?access_token={token}", json=MENU).get_json()
    assert created == {"errcode": 0, "errmsg": "ok"}
    assert api.get(f"/cgi-bin/menu/get?access_token={token}").get_json() == {"menu": MENU}
    assert fake.menu(APPID) == MENU


@pytest.mark.parametrize(
    ("menu", "errcode"),
    [
        ({"button": [{"type": "click", "name": f"b{i}", "key": "k"} for i in range(4)]}, 40016),
        ({"button": [{"type": "click", "name": "我要反映问题啊", "key": "k"}]}, 40018),
        ({"button": [{"type": "click", "name": "a"}]}, 40019),
        ({"button": [{"type": "view", "name": "a", "url": "ftp://x"}]}, 40020),
        ({"button": [{"type": "teleport", "name": "a"}]}, 40017),
        ({"button": [{"name": "a", "sub_button": [{"type": "click", "name": "s", "key": "k"}] * 6}]}, 40023),
        ({"button": [{"name": "a", "sub_button": [{"type": "click", "name": "s"}]}]}, 40026),
    ],
)
def test_menus_wechat_would_refuse(api: Any, menu: dict[str, Any], errcode: int) -> None:
    token = stable_token(api)["access_token"]
    assert api.post(f"/cgi-bin/menu/create?access_token={token}", json=menu).get_json()["errcode"] == errcode


def test_callback_ips_and_media(api: Any, fake: FakeWechat) -> None:
    token = stable_token(api)["access_token"]
    assert api.get(f"/cgi-bin/getcallbackip?access_token={token}").get_json()["ip_list"]
    assert api.get("/cgi-bin/getcallbackip?access_token=nope").get_json()["errcode"] == 40001
    fake.add_media(APPID, "m-1", b"\xff\xd8jpeg", "image/jpeg")
    media = api.get(f"/cgi-bin/media/get?access_token={token}&media_id=m-1")
    assert (media.data, media.mimetype) == (b"\xff\xd8jpeg", "image/jpeg")
    assert "m-1.jpeg" in media.headers["Content-disposition"]
    assert api.get(f"/cgi-bin/media/get?access_token={token}&media_id=m-2").get_json()["errcode"] == 40007


# ------------------------------------------------------------------------------------------ failure injection


def test_injected_errcodes_fail_the_next_calls_then_recover(api: Any, fake: FakeWechat) -> None:
    token = stable_token(api)["access_token"]
    fake.fail_next("/cgi-bin/message/template/send", 2, errcode=45009)
    assert [send_template(api, token)["errcode"] for _ in range(3)] == [45009, 45009, 0]
    assert len(fake.messages()) == 1
    fake.fail_next("/cgi-bin/message/template/send", errcode=-1, appid="wxsomeoneelse")
    assert send_template(api, token)["errcode"] == 0


def test_injected_http_errors(api: Any, fake: FakeWechat) -> None:
    token = stable_token(api)["access_token"]
    fake.fail_next("/cgi-bin/message/template/send", http_status=503)
    response = api.post(f"/cgi-bin/message/template/send?access_token={token}", json={})
    assert response.status_code == 503
    assert fake.messages() == []
    with pytest.raises(ValueError, match="needs"):
        fake.fail_next("/cgi-bin/token")


def test_a_delay_times_the_client_out_but_the_message_is_still_delivered(fake_wechat: Any) -> None:
    fake = fake_wechat.fake
    fake.register_account(APPID, SECRET)
    with requests.Session() as http:
        token = http.post(
            f"{fake_wechat.base_url}/cgi-bin/stable_token",
            json={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
            timeout=5,
        ).json()["access_token"]
        fake.fail_next("/cgi-bin/message/template/send", delay=0.3)
        body = {"touser": OPENID, "template_id": TEMPLATE, "data": {}, "client_msg_id": "n-9"}
        url = f"{fake_wechat.base_url}/cgi-bin/message/template/send?access_token={token}"
        with pytest.raises(requests.Timeout):
            http.post(url, json=body, timeout=0.05)
        # Retrying with the same client_msg_id once the slow call has landed: WeChat refuses the duplicate.
        give_up = time.monotonic() + 5
        while not fake.messages() and time.monotonic() < give_up:
            time.sleep(0.02)
        assert http.post(url, json=body, timeout=5).json()["errcode"] == 45065
    assert len(fake.messages()) == 1


def test_control_endpoints_over_http(fake_wechat: Any) -> None:
    base = fake_wechat.base_url
    with requests.Session() as http:
        assert http.post(f"{base}/_fake/accounts", json={"appid": APPID, "secret": SECRET}, timeout=5).ok
        http.post(
            f"{base}/_fake/templates",
            json={"appid": APPID, "template_id": TEMPLATE, "fields": {"t": "thing"}},
            timeout=5,
        )
        token = http.post(
            f"{base}/cgi-bin/stable_token",
            json={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
            timeout=5,
        ).json()["access_token"]
        send = f"{base}/cgi-bin/message/template/send?access_token={token}"
        long_value = {"touser": OPENID, "template_id": TEMPLATE, "data": {"t": {"value": "长" * 21}}}
        assert http.post(send, json=long_value, timeout=5).json()["errcode"] == 47003

        http.post(
            f"{base}/_fake/failures",
            json={"path": "/cgi-bin/message/template/send", "errcode": 45047},
            timeout=5,
        )
        ok_value = {"touser": OPENID, "template_id": TEMPLATE, "data": {"t": {"value": "<script>x</script>"}}}
        assert http.post(send, json=ok_value, timeout=5).json()["errcode"] == 45047
        assert http.post(send, json=ok_value, timeout=5).json()["errcode"] == 0
        assert http.post(f"{base}/_fake/failures", json={"path": "/x"}, timeout=5).status_code == 400

        http.post(f"{base}/_fake/subscriptions", json={"appid": APPID, "openid": "o-gone"}, timeout=5)
        assert http.post(send, json=ok_value | {"touser": "o-gone"}, timeout=5).json()["errcode"] == 43004

        listed = http.get(f"{base}/_fake/messages", params={"openid": OPENID}, timeout=5).json()["messages"]
        assert [m["data"] for m in listed] == [{"t": {"value": "<script>x</script>"}}]

        inbox = http.get(f"{base}/_fake/inbox", timeout=5)
        assert "群众收到的消息" in inbox.text
        assert "&lt;script&gt;x&lt;/script&gt;" in inbox.text and "<script>x" not in inbox.text

        media = {"appid": APPID, "media_id": "m", "content_base64": base64.b64encode(b"voice").decode()}
        http.post(f"{base}/_fake/media", json=media, timeout=5)
        assert (
            http.get(
                f"{base}/cgi-bin/media/get", params={"access_token": token, "media_id": "m"}, timeout=5
            ).content
            == b"voice"
        )

        http.post(f"{base}/_fake/tokens/expire", json={"appid": APPID}, timeout=5)
        assert http.post(send, json=ok_value, timeout=5).json()["errcode"] == 42001
        http.delete(f"{base}/_fake/messages", timeout=5)
        assert http.get(f"{base}/_fake/messages", timeout=5).json() == {"messages": []}
        http.post(f"{base}/_fake/reset", timeout=5)
    assert fake_wechat.fake.api_calls() == []


def test_concurrent_sends_are_each_delivered_once(fake_wechat: Any) -> None:
    fake = fake_wechat.fake
    fake.register_account(APPID, SECRET)
    with requests.Session() as http:
        token = http.post(
            f"{fake_wechat.base_url}/cgi-bin/stable_token",
            json={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
            timeout=5,
        ).json()["access_token"]
    url = f"{fake_wechat.base_url}/cgi-bin/message/template/send?access_token={token}"
    answers: list[int] = []

    def send(n: int) -> None:
        # Every message twice, at the same time: the duplicates must be refused.
        body = {"touser": OPENID, "template_id": TEMPLATE, "data": {}, "client_msg_id": f"n-{n % 10}"}
        with requests.Session() as own:
            answers.append(own.post(url, json=body, timeout=10).json()["errcode"])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [0] * 10 + [45065] * 10
    assert sorted(m.client_msg_id or "" for m in fake.messages()) == sorted(f"n-{n}" for n in range(10))
    assert len({m.msgid for m in fake.messages()}) == 10


# ------------------------------------------------------------------------------------------------- the demo


def test_mount_fake_serves_it_inside_the_app(app_config: dict[str, Any]) -> None:
    config = app_config | {"ACCOUNTS": [{"district": "shinan", "appid": APPID, "secret": SECRET}]}
    app: Flask = create_app(config)
    fake = FakeWechat()
    mount_fake(app, fake)
    assert app.extensions["qingsu.fake_wechat"] is fake
    with app.test_client() as client:
        body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
        assert "access_token" in client.post("/fake-wechat/cgi-bin/stable_token", json=body).get_json()
        assert "还没有发出任何消息" in client.get("/fake-wechat/_fake/inbox").get_data(as_text=True)
    app.extensions["qingsu.engine"].dispose()
