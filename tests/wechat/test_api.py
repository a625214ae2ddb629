"""The WeChat API client against the fake over real HTTP: base URL, shared tokens, one retry, typed errors."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from models import WechatAccount
from qingsu.config import merge
from tests.factories import make_account
from wechat.api import (
    MediaFile,
    QingsuWechatClient,
    SendResult,
    WechatApiError,
    WechatCredentialError,
    WechatInvalidFieldError,
    WechatQuotaError,
    WechatServerError,
    WechatTimeoutError,
    WechatTokenError,
    WechatUnsubscribedError,
    WechatWindowClosedError,
    client_for,
)
from wechat.tokens import token_store_for

OPENID = "o-citizen-1"
TEMPLATE = "tpl-accepted"
SEND = "/cgi-bin/message/template/send"
TOKEN = "/cgi-bin/stable_token"


@pytest.fixture
def app_config(app_config: dict[str, Any], fake_wechat: Any) -> dict[str, Any]:
    # The production default timeout, so a busy CI machine never turns a send into a timeout; the timeout test
    # shortens its own client's.
    return merge(app_config, {"WECHAT": {"api_base_url": fake_wechat.base_url, "api_timeout_seconds": 5}})


@pytest.fixture
def account(db_session: Session, fake_wechat: Any) -> WechatAccount:
    account = make_account(db_session)
    db_session.commit()
    fake_wechat.fake.register_account(account.appid, account.secret)
    return account


@pytest.fixture
def client(account: WechatAccount, app: Flask) -> Iterator[QingsuWechatClient]:
    with client_for(account, app) as client:
        yield client


def send(client: QingsuWechatClient, **overrides: Any) -> SendResult:
    arguments: dict[str, Any] = {
        "openid": OPENID,
        "template_id": TEMPLATE,
        "data": {"thing1": {"value": "路灯不亮"}},
    }
    return client.send_template(**(arguments | overrides))


def token_calls(fake_wechat: Any) -> list[tuple[str, str | None]]:
    return fake_wechat.fake.api_calls(TOKEN)


# --------------------------------------------------------------------------------------------- tokens and sending


def test_client_talks_to_the_configured_base_url_with_a_shared_token(
    client: QingsuWechatClient, account: WechatAccount, app: Flask, fake_wechat: Any
) -> None:
    results = [send(client, client_msg_id=f"n-{n}") for n in range(3)]
    assert all(r.msgid and not r.duplicate for r in results)
    delivered = fake_wechat.fake.messages(account.appid, OPENID)
    assert [m.msgid for m in delivered] == [r.msgid for r in results]
    assert delivered[0].data == {"thing1": {"value": "路灯不亮"}}
    assert len(token_calls(fake_wechat)) == 1
    stored = token_store_for(app).get(account.appid)
    assert stored is not None and fake_wechat.fake.authenticate(stored.token) == account.appid
    # A second client (another worker) uses the stored token instead of asking for one.
    with client_for(account, app) as other:
        send(other)
    assert len(token_calls(fake_wechat)) == 1


def test_a_repeated_client_msg_id_is_reported_as_duplicate_not_sent_twice(
    client: QingsuWechatClient, fake_wechat: Any
) -> None:
    first = send(client, client_msg_id="notification-17")
    again = send(client, client_msg_id="notification-17")
    assert again == SendResult(msgid=first.msgid, duplicate=True)
    assert [m.msgid for m in fake_wechat.fake.messages()] == [first.msgid]


def test_template_url_is_passed_on(client: QingsuWechatClient, fake_wechat: Any) -> None:
    send(client, url="https://example.org/petitions/SN202611270001")
    assert fake_wechat.fake.messages()[0].url == "https://example.org/petitions/SN202611270001"


def test_an_expired_token_is_renewed_once_and_the_call_retried(
    client: QingsuWechatClient, account: WechatAccount, fake_wechat: Any
) -> None:
    send(client)
    fake_wechat.fake.expire_tokens(account.appid)
    send(client)
    assert len(fake_wechat.fake.messages()) == 2
    assert len(token_calls(fake_wechat)) == 2
    assert [path for path, _ in fake_wechat.fake.api_calls(SEND)] == [SEND] * 3


def test_a_token_wechat_still_hands_out_after_rejecting_it_is_force_refreshed(
    client: QingsuWechatClient, account: WechatAccount, fake_wechat: Any
) -> None:
    send(client)
    # WeChat answers 40001 for a token it would still give out in normal mode (another system forced a refresh
    # we cannot see): a normal refresh returns the same token, so the client must force one.
    fake_wechat.fake.fail_next(SEND, errcode=40001)
    send(client)
    assert len(fake_wechat.fake.messages()) == 2
    assert [p for p, _ in token_calls(fake_wechat)] == [TOKEN] * 3


def test_a_token_rejected_again_after_renewal_raises(client: QingsuWechatClient, fake_wechat: Any) -> None:
    fake_wechat.fake.fail_next(SEND, 2, errcode=42001)
    with pytest.raises(WechatTokenError) as caught:
        send(client)
    assert caught.value.errcode == 42001 and caught.value.retryable
    assert fake_wechat.fake.messages() == []


def test_concurrent_clients_without_a_token_ask_wechat_once(
    account: WechatAccount, app: Flask, fake_wechat: Any
) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker() -> None:
        try:
            with client_for(account, app) as client:
                start.wait()
                client.get_callback_ip()
        except BaseException as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(token_calls(fake_wechat)) == 1
    assert len(fake_wechat.fake.api_calls("/cgi-bin/getcallbackip")) == 8


# ------------------------------------------------------------------------------------------------ typed errors


@pytest.mark.parametrize(
    ("arrange", "error", "retryable"),
    [
        (lambda fake, appid: fake.unsubscribe(appid, OPENID), WechatUnsubscribedError, False),
        (lambda fake, appid: fake.fail_next(SEND, errcode=45009), WechatQuotaError, True),
        (lambda fake, appid: fake.fail_next(SEND, errcode=45047), WechatQuotaError, True),
        (
            lambda fake, appid: fake.register_template(appid, TEMPLATE, {"thing1": "character_string"}),
            WechatInvalidFieldError,
            False,
        ),
        (lambda fake, appid: fake.fail_next(SEND, errcode=-1), WechatServerError, True),
        (lambda fake, appid: fake.fail_next(SEND, http_status=502), WechatServerError, True),
        (lambda fake, appid: fake.register_template(appid, "another", {}), WechatApiError, False),
    ],
)
def test_failures_raise_typed_errors(
    client: QingsuWechatClient,
    account: WechatAccount,
    fake_wechat: Any,
    arrange: Any,
    error: type,
    retryable: bool,
) -> None:
    client.access_token  # noqa: B018 (fetch it first, so the failure hits the send itself)
    arrange(fake_wechat.fake, account.appid)
    with pytest.raises(error) as caught:
        send(client)
    assert type(caught.value) is error
    assert caught.value.retryable is retryable
    assert client.access_token not in str(caught.value)  # error texts never carry the token


def test_an_answer_later_than_the_timeout_is_a_retryable_timeout(
    client: QingsuWechatClient, account: WechatAccount, fake_wechat: Any
) -> None:
    client.access_token  # noqa: B018 (fetch it first, so the late answer is the send's)
    client.timeout = 0.3
    fake_wechat.fake.fail_next(SEND, delay=0.6)
    with pytest.raises(WechatTimeoutError) as caught:
        send(client)
    assert caught.value.retryable is True
    assert client.access_token not in str(caught.value)


def test_wrong_secret_is_a_credential_error(account: WechatAccount, app: Flask, fake_wechat: Any) -> None:
    fake_wechat.fake.register_account(account.appid, "the-secret-changed-on-the-platform")
    with client_for(account, app) as client, pytest.raises(WechatCredentialError) as caught:
        client.get_callback_ip()
    assert caught.value.errcode == 40125 and not caught.value.retryable


def test_customer_service_text_and_its_window(
    client: QingsuWechatClient, account: WechatAccount, fake_wechat: Any
) -> None:
    client.send_text(OPENID, "您的诉求 SN202611270001 已受理。]]><b>")
    assert [m.content for m in fake_wechat.fake.messages()] == ["您的诉求 SN202611270001 已受理。]]><b>"]
    fake_wechat.fake.close_window(account.appid, OPENID)
    with pytest.raises(WechatWindowClosedError):
        client.send_text(OPENID, "还在吗")


def test_an_unreachable_api_is_a_retryable_timeout_that_does_not_quote_the_token(
    account: WechatAccount, app: Flask
) -> None:
    store = token_store_for(app)
    store.set(account.appid, "token-that-must-stay-secret", dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    # Port 9 (discard) on localhost: nothing listens, the connection is refused.
    client = QingsuWechatClient(
        account.appid, account.secret, store=store, api_base_url="http://127.0.0.1:9", timeout=0.3
    )
    with client, pytest.raises(WechatTimeoutError) as caught:
        client.get_callback_ip()
    assert caught.value.retryable
    assert "getcallbackip" in str(caught.value)
    assert "token-that-must-stay-secret" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


# ------------------------------------------------------------------------------------------ menu, ips, media


def test_menu_callback_ips_and_media(
    client: QingsuWechatClient, account: WechatAccount, fake_wechat: Any
) -> None:
    menu = {"button": [{"type": "click", "name": "我要反映", "key": "REPORT"}]}
    client.create_menu(menu)
    assert fake_wechat.fake.menu(account.appid) == menu
    assert client.menu.get() == {"menu": menu}  # wechatpy's own API groups use the configured base URL too

    assert client.get_callback_ip()
    # Absolute URLs on WeChat's host are redirected to the configured base as well.
    assert "ip_list" in client.get("https://api.weixin.qq.com/cgi-bin/getcallbackip")

    fake_wechat.fake.add_media(account.appid, "media-1", b"\xff\xd8\xff\xe0photo", "image/jpeg")
    assert client.get_media("media-1") == MediaFile(b"\xff\xd8\xff\xe0photo", "image/jpeg", "media-1.jpeg")
    with pytest.raises(WechatApiError) as caught:
        client.get_media("media-2")
    assert caught.value.errcode == 40007

    with pytest.raises(WechatApiError) as refused:
        client.create_menu({"button": []})
    assert refused.value.errcode == 40016


def test_a_failing_token_endpoint_for_one_account_leaves_the_others_working(
    account: WechatAccount, app: Flask, db_session: Session, fake_wechat: Any
) -> None:
    other = make_account(db_session, "shibei")
    db_session.commit()
    fake_wechat.fake.register_account(other.appid, other.secret)
    fake_wechat.fake.fail_next(TOKEN, http_status=503, appid=account.appid)
    with client_for(account, app) as failing, pytest.raises(WechatServerError):
        failing.get_callback_ip()
    with client_for(other, app) as working:
        assert working.get_callback_ip()
    assert token_store_for(app).get(account.appid) is None


def test_the_demo_address_self_is_learnt_from_the_first_request(account: WechatAccount, app: Flask, fake_wechat: Any):
    """Issue 11: in the demo, api_base_url = "self" follows the address the application is served on (any port)."""
    from wechat.api import WechatAddressUnknownError, learn_own_address

    app.config["WECHAT"]["api_base_url"] = "self"
    app.config["WECHAT"].pop("own_address", None)
    with pytest.raises(WechatAddressUnknownError) as unknown:
        client_for(account, app)
    assert unknown.value.retryable and "has not served a request" in str(unknown.value)
    served_at = fake_wechat.base_url.removesuffix("/")
    learn_own_address(app, served_at + "/")
    learn_own_address(app, "http://elsewhere:1/")  # the first address stays
    with client_for(account, app) as client:
        assert client.api_base_url == served_at + "/fake-wechat"
