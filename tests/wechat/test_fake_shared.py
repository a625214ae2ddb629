"""The demo's fake WeChat API shared by several processes (`SharedState`): one WeChat for every worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from wechat.fake import FakeApiError, FakeWechat

APPID, SECRET, OPENID = "wx-shared-demo", "shared-demo-secret", "o-shared-citizen"


@pytest.fixture
def two_workers(tmp_path: Path) -> tuple[FakeWechat, FakeWechat]:
    """Two fakes on one state file, as two gunicorn workers of the demo have."""
    path = tmp_path / "instance" / "fake-wechat.sqlite"
    return FakeWechat(shared_file=path), FakeWechat(shared_file=path)


def test_a_token_issued_by_one_worker_is_accepted_by_the_other(
    two_workers: tuple[FakeWechat, FakeWechat],
) -> None:
    first, second = two_workers
    first.register_account(APPID, SECRET)
    token = second.stable_token({"grant_type": "client_credential", "appid": APPID, "secret": SECRET})
    assert first.authenticate(token["access_token"]) == APPID
    # The stable token is the same one, whichever worker is asked.
    again = first.stable_token({"grant_type": "client_credential", "appid": APPID, "secret": SECRET})
    assert again["access_token"] == token["access_token"]


def test_each_message_is_in_the_one_inbox_once_with_its_own_id(
    two_workers: tuple[FakeWechat, FakeWechat],
) -> None:
    first, second = two_workers
    first.register_account(APPID, SECRET)
    for n, worker in enumerate((first, second, first, second)):
        worker.send_custom(APPID, {"touser": OPENID, "msgtype": "text", "text": {"content": f"消息{n}"}})
    for worker in two_workers:
        assert [m.content for m in worker.messages()] == ["消息0", "消息1", "消息2", "消息3"]
        assert len({m.id for m in worker.messages()}) == 4
        assert len({m.msgid for m in worker.messages()}) == 4


def test_a_client_msg_id_sent_through_one_worker_is_a_duplicate_on_the_other(
    two_workers: tuple[FakeWechat, FakeWechat],
) -> None:
    first, second = two_workers
    body = {
        "touser": OPENID,
        "template_id": "tpl",
        "data": {"thing1": {"value": "路灯不亮"}},
        "client_msg_id": "n-1",
    }
    sent = first.send_template(APPID, body)
    with pytest.raises(FakeApiError) as duplicate:
        second.send_template(APPID, body)
    assert duplicate.value.body()["msgid"] == sent["msgid"]
    assert len(second.messages()) == 1


def test_a_refused_call_changes_nothing(two_workers: tuple[FakeWechat, FakeWechat]) -> None:
    first, second = two_workers
    first.register_account(APPID, SECRET)
    first.unsubscribe(APPID, OPENID)
    with pytest.raises(FakeApiError):
        second.send_custom(APPID, {"touser": OPENID, "msgtype": "text", "text": {"content": "还在吗"}})
    assert first.messages() == []
    second.reset()
    assert first.messages() == [] and first.api_calls() == []
    with pytest.raises(FakeApiError):  # the account went with the reset
        first.stable_token({"grant_type": "client_credential", "appid": APPID, "secret": SECRET})


def test_the_inbox_shows_names_titles_and_labels_newest_first_and_filters_by_citizen() -> None:
    from tests.live import serve
    from wechat.fake import create_fake_app

    fake = FakeWechat()
    fake.register_account(APPID, SECRET, "暖南诉办（市南区）")
    fake.register_template(
        APPID,
        "tpl",
        {"character_string1": "character_string"},
        title="诉求受理通知",
        labels={"character_string1": "诉求编号"},
    )
    for openid, number in (
        ("o-first", "SN202611230001"),
        ("o-second", "SN202611230002"),
        ("o-first", "SN202611230003"),
    ):
        fake.send_template(
            APPID, {"touser": openid, "template_id": "tpl", "data": {"character_string1": {"value": number}}}
        )
    import urllib.request

    with serve(create_fake_app(fake)) as url:
        page = urllib.request.urlopen(f"{url}/_fake/inbox", timeout=10).read().decode()
        only = urllib.request.urlopen(f"{url}/_fake/inbox?openid=o-second", timeout=10).read().decode()
    assert (
        "暖南诉办（市南区） → 群众 o-first" in page
        and "<h3>诉求受理通知</h3>" in page
        and "<dt>诉求编号</dt>" in page
    )
    # Newest first: o-first (the latest message) before o-second, and o-first's …0003 before its …0001.
    assert page.index("SN202611230003") < page.index("SN202611230001") < page.index("SN202611230002")
    assert "SN202611230002" in only and "SN202611230001" not in only
