"""The chat simulator: the demo page, its relay endpoint and `qingsu simulate`, all through the real protocol."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot import texts
from bot.simulator import AccountKeys, build_message, parse_terminal_line, read_reply, sign_request
from tests.live import serve
from tests.wechat_wire import decrypt_message, encrypt_reply, sha1_signature


@pytest.fixture
def app_config(app_config):
    app_config["DEMO"] = True
    return app_config


def _send(client, **payload):
    base = {"district": "shinan", "openid": "sim-test-openid", "kind": "text", "fields": {}}
    return client.post("/simulator/send", json={**base, **payload})


def test_the_page_is_only_served_in_demo_mode(bot_app, accounts, client):
    bot_app.config["DEMO"] = False
    assert client.get("/simulator").status_code == 404
    assert _send(client, fields={"Content": "你好"}).status_code == 404


def test_the_page_lists_the_accounts_and_the_menu_and_loads_nothing_from_elsewhere(accounts, client):
    response = client.get("/simulator")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for expected in ("暖南诉办（市南区）", "北尚诉办（市北区）", "我要反映", "我的诉求", "办事指南"):
        assert expected in page
    assert "cdn" not in page.lower() and 'src="http' not in page and 'href="http' not in page
    for asset in ("simulator.css", "simulator.js"):
        response = client.get(f"/simulator/static/{asset}")
        assert response.status_code == 200 and response.get_data()
        response.close()


@pytest.mark.parametrize("district", ["shinan", "shibei"], ids=["safe", "plain"])
def test_the_relay_talks_to_the_webhook_and_returns_the_reply(accounts, client, district):
    platform, name = ("暖南诉办", "市南区") if district == "shinan" else ("北尚诉办", "市北区")
    assert _send(client, district=district, kind="subscribe").get_json() == {
        "reply": texts.welcome(platform, name)
    }
    click = _send(client, district=district, kind="click", fields={"EventKey": "REPORT"})
    assert click.get_json() == {"reply": texts.ASK_KIND}
    assert _send(client, district=district, fields={"Content": "1"}).get_json() == {
        "reply": texts.ASK_CONTENT
    }
    silent = _send(client, district=district, kind="voice", fields={"MediaId": "m", "Format": "amr"})
    assert silent.get_json() == {
        "reply": texts.VOICE_NOT_RECOGNIZED + "\n" + texts.still_writing(texts.ASK_CONTENT)
    }


def test_the_relay_answers_questions_without_starting_a_petition(accounts, client, db_session):
    from sqlalchemy import func, select

    from models import Petition

    for said, expected in (
        ("我想问一下我的诉求办得怎么样了", texts.NO_PETITIONS),
        ("谢谢", texts.THANKS),
        ("人工客服", texts.human("暖南诉办", "", "")),
    ):
        assert _send(client, fields={"Content": said}).get_json() == {"reply": expected}
    voice = _send(client, kind="voice", fields={"MediaId": "m", "Format": "amr", "Recognition": "我想问一下进度。"})
    assert voice.get_json() == {"reply": texts.NO_PETITIONS}
    assert db_session.scalar(select(func.count()).select_from(Petition)) == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "telegram"},
        {"openid": ""},
        {"openid": "x" * 65},
        {"fields": {"Content": 5}},
        {"fields": ["Content"]},
        {"district": None},
    ],
)
def test_the_relay_refuses_bad_requests(accounts, client, payload):
    assert _send(client, **payload).status_code == 400


def test_the_relay_answers_404_for_a_district_without_an_account(accounts, client):
    assert _send(client, district="laoshan", fields={"Content": "你好"}).status_code == 404


def test_the_simulators_signing_and_encryption_match_the_protocol_description(accounts):
    # Checked with the independent implementation in tests/wechat_wire.py.
    keys = AccountKeys("shinan", accounts.safe.appid, accounts.safe.token, accounts.safe.encoding_aes_key)
    xml = build_message("text", "openid-1", {"Content": "井盖]]>丢失"})
    query, body = sign_request(keys, xml)
    assert query["signature"] == sha1_signature(keys.token, query["timestamp"], query["nonce"])
    encrypted = ET.fromstring(body).findtext("Encrypt")
    assert query["msg_signature"] == sha1_signature(keys.token, query["timestamp"], query["nonce"], encrypted)
    inner = ET.fromstring(decrypt_message(accounts.safe, encrypted))
    assert (inner.findtext("MsgType"), inner.findtext("Content"), inner.findtext("FromUserName")) == (
        "text",
        "井盖]]>丢失",
        "openid-1",
    )
    reply = "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[收到]]></Content></xml>"
    assert read_reply(keys, encrypt_reply(accounts.safe, reply).encode()) == "收到"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("你好", ("text", {"Content": "你好"})),
        ("/menu 1", ("click", {"EventKey": "REPORT"})),
        ("/menu 3", ("click", {"EventKey": "GUIDE"})),
        (
            "/voice 路灯坏了",
            ("voice", {"MediaId": "simulated-voice", "Format": "amr", "Recognition": "路灯坏了"}),
        ),
        ("/voice", ("voice", {"MediaId": "simulated-voice", "Format": "amr"})),
        (
            "/location 36.06 120.38 香港中路 10号",
            (
                "location",
                {"Location_X": "36.06", "Location_Y": "120.38", "Scale": "15", "Label": "香港中路 10号"},
            ),
        ),
        ("/subscribe", ("subscribe", {})),
        ("/quit", None),
    ],
)
def test_terminal_lines(line, expected):
    assert parse_terminal_line(line) == expected


@pytest.mark.parametrize("line", ["/menu 4", "/location north", "/fly"])
def test_terminal_lines_not_understood(line):
    with pytest.raises(ValueError, match="not understood"):
        parse_terminal_line(line)


def test_simulate_in_the_terminal_in_process(accounts, runner):
    result = runner.invoke(
        args=["simulate", "--district", "shinan", "--openid", "sim-cli"],
        input="你好\n/menu 1\n/fly\n1\n/quit\n",
    )
    assert result.exit_code == 0, result.output
    assert "暖南诉办（shinan，安全模式）" in result.output
    assert texts.welcome("暖南诉办", "市南区") in result.output
    assert texts.ASK_KIND in result.output and texts.ASK_CONTENT in result.output
    assert "not understood" in result.output


def test_simulate_against_a_running_server(bot_app, accounts, runner):
    with serve(bot_app) as url:
        result = runner.invoke(args=["simulate", "--district", "shibei", "--url", url], input="/menu 3\n")
    assert result.exit_code == 0, result.output
    assert "北尚诉办（shibei，明文模式）" in result.output
    assert texts.GUIDE in result.output


def test_simulate_refuses_an_unknown_district(accounts, runner):
    result = runner.invoke(args=["simulate", "--district", "atlantis"], input="")
    assert result.exit_code != 0
    assert "no enabled account" in result.output
