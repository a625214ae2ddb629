"""A message is one lean transaction, accounts are served from a per-process cache that never answers with stale
keys, and first messages of a new citizen arriving together (WeChat's retries, or two different messages) make
one citizen and lose nothing."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import request as flask_request
from flask import session
from flask.sessions import NullSession
from sqlalchemy import create_engine, delete, event, func, select, text, update

import bot.handlers
from bot import texts
from bot.webhook import ACCOUNTS_KEY, KNOWN_SENDERS_KEY, KnownSenders, _write_first_contact, query_of
from classifier.lifecycle import EXTENSION_KEY
from models import Citizen, Conversation, InboundMessage, WechatAccount, utcnow
from models.base import unevented
from models.db import execute_alone
from tests.bot.conftest import verify_dialog
from tests.wechat_wire import WireAccount, decrypt_reply, parse_reply, sign_request, verify_url_params

PROBLEM = "小区楼下烧烤摊每天营业到凌晨两点，油烟和噪音严重扰民，希望有关部门管一管。"
FIRST_REPLY = texts.CONTENT_NOTED + "\n" + texts.ASK_KIND


@contextmanager
def statements(engine) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """The SQL statements run on `engine` meanwhile (verb and table), and COMMIT for each commit."""
    seen: list[str] = []

    def on_statement(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        words = statement.split()
        verb = words[0].upper()
        if verb in ("INSERT", "DELETE"):
            table = words[2]
        elif verb == "UPDATE":
            table = words[1]
        elif verb == "SELECT":
            table = words[words.index("FROM") + 1] if "FROM" in words else ""
        elif verb == "WITH":
            # Data-modifying WITH clauses: every table written.
            table = "+".join(re.findall(r"INSERT INTO (\w+)", statement))
        else:
            table = " ".join(words[1:2])
        seen.append(f"{verb} {table}".strip())

    def on_commit(conn):  # type: ignore[no-untyped-def]
        seen.append("COMMIT")

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


# --- one transaction ------------------------------------------------------------------------------------------------


def test_a_new_citizens_first_message_reads_then_writes_its_rows_in_one_short_transaction(phone, bot_app):
    citizen = phone()
    citizen.click("GUIDE")  # reads the account into the cache, as any earlier message of the district would
    newcomer = phone()
    with statements(bot_app.extensions["qingsu.engine"]) as seen:
        assert newcomer.say(PROBLEM) == FIRST_REPLY
    # Once the reply is known, the dedupe row with the stored reply, the citizen and the dialog's state: no savepoint,
    # no account query, no second transaction, no UPDATE, and no lookup: a sender this process has not seen is
    # presumed new. PostgreSQL writes the three rows with one statement that also looks the citizen up (inserted
    # only if absent), outside any transaction (no BEGIN, no COMMIT: one round trip in all). SQLite writes the three
    # in one transaction of their own (the citizen only if absent, the others only if it was inserted), sent with the
    # driver and committed by it (`models.db.write_alone`): none of it in the session, which commits nothing.
    if bot_app.extensions["qingsu.engine"].dialect.name == "postgresql":
        assert seen == ["WITH citizen+inbound_message+conversation"]
    else:
        assert seen == ["INSERT citizen", "INSERT conversation", "INSERT inbound_message"]


def test_a_known_citizen_this_process_has_not_seen_is_found_by_the_presumed_first_contact(
    phone, bot_app, db_session
):
    citizen = phone()
    assert citizen.say(PROBLEM) == FIRST_REPLY
    # As if another worker had served the first message (or this one restarted since).
    bot_app.extensions[KNOWN_SENDERS_KEY] = KnownSenders()
    with statements(bot_app.extensions["qingsu.engine"]) as seen:
        assert citizen.say("1") == texts.ASK_LOCATION
    if db_session.get_bind().dialect.name == "postgresql":
        # The presumed first contact wrote nothing and gave the citizen's row: no lookup after it, then the known
        # citizen's turn (the dedupe row first, the dialog locked and changed, one commit).
        assert seen[0] == "WITH citizen+inbound_message+conversation"
        assert "SELECT citizen" not in seen
        assert seen[1] == "INSERT inbound_message" and seen[-1] == "COMMIT"
    else:
        # The presumed first contact's INSERTs wrote nothing (the citizen exists); then the lookup and the known
        # citizen's turn.
        assert seen[:4] == ["INSERT citizen", "INSERT conversation", "INSERT inbound_message", "SELECT citizen"]
        assert seen[-1] == "COMMIT"
    assert (
        _count(db_session, Citizen),
        _count(db_session, Conversation),
        _count(db_session, InboundMessage),
    ) == (1, 1, 2)
    # Seen now: its next message goes straight to the lookup.
    with statements(bot_app.extensions["qingsu.engine"]) as seen:
        assert citizen.say("小区门口") != texts.SYSTEM_BUSY
    assert seen[0] == "SELECT citizen"


def test_a_citizen_deleted_after_this_process_saw_them_starts_afresh(phone, bot_app, db_session):
    citizen = phone()
    citizen.say(PROBLEM)
    db_session.execute(delete(Conversation))
    db_session.execute(delete(InboundMessage))
    db_session.execute(delete(Citizen))
    db_session.commit()
    # The process still holds the sender as seen: the lookup finds nobody, and the first contact is made as usual.
    assert citizen.say(PROBLEM) == FIRST_REPLY
    assert (
        _count(db_session, Citizen),
        _count(db_session, Conversation),
        _count(db_session, InboundMessage),
    ) == (1, 1, 1)
    verify_dialog(citizen, [("1", texts.ASK_LOCATION)])


def test_a_known_citizens_message_locks_the_dialog_and_changes_it_in_the_same_transaction(phone, bot_app):
    citizen = phone()
    assert citizen.say(PROBLEM) == FIRST_REPLY
    with statements(bot_app.extensions["qingsu.engine"]) as seen:
        assert citizen.say("1") == texts.ASK_LOCATION
    assert seen.count("COMMIT") == 1
    assert not [s for s in seen if s.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]
    # The dedupe row is the first write, before the dialog's state is read (under SQLite's write lock, or with
    # PostgreSQL's row lock) and changed; its reply is stored at the end.
    writes = [s for s in seen if not s.startswith("SELECT")]
    assert (
        writes[0] == "INSERT inbound_message"
        and "UPDATE inbound_message" in writes
        and writes[-1] == "COMMIT"
    )
    assert seen.index("INSERT inbound_message") < seen.index("SELECT conversation")


def test_a_message_that_changes_nobody_is_one_insert(phone, bot_app, db_session):
    citizen = phone()
    citizen.say(PROBLEM)
    report = citizen.wire.build_event(citizen.openid, "TEMPLATESENDJOBFINISH")
    with statements(bot_app.extensions["qingsu.engine"]) as seen:
        assert citizen.send(report) == ""
        assert citizen.send(report) == ""  # WeChat's retry: answered from the stored (empty) reply
    # One INSERT, atomic by itself (`execute_alone`: PostgreSQL in autocommit mode, SQLite in a transaction of its own
    # that the driver commits); the retry's INSERT meets the unique key.
    assert seen[:2] == ["INSERT inbound_message", "INSERT inbound_message"]
    assert _count(db_session, InboundMessage) == 2


def test_a_problem_that_no_intent_cue_matches_is_never_cut_into_words(phone, bot_app, monkeypatch):
    # Intents are recognised by their regular-expression cues; jieba cuts a message only when a cue matched (to weigh
    # what else it says). The benchmark's first messages, like most problems, match none.
    from benchmarks.webhook_load import FIRST_MESSAGES

    def cut(_text: str) -> list[str]:
        raise AssertionError("tokenized")

    monkeypatch.setattr("bot.intents.tokenize", cut)
    for message in (PROBLEM, *FIRST_MESSAGES):
        assert phone().say(message) == FIRST_REPLY


def test_the_first_turn_needs_no_classifier_model(phone, bot_app):
    # Screening is rules only; the model is for the suggestion stored with a submitted petition.
    bot_app.extensions.pop(EXTENSION_KEY, None)
    assert phone().say(PROBLEM) == FIRST_REPLY
    assert EXTENSION_KEY not in bot_app.extensions


def test_a_citizen_first_seen_following_the_account_gets_a_dialog_on_their_first_message(phone, db_session):
    citizen = phone()
    assert "暖南诉办" in citizen.send(citizen.wire.build_event(citizen.openid, "subscribe"))
    assert _count(db_session, Conversation) == 0
    verify_dialog(citizen, [(PROBLEM, FIRST_REPLY), ("1", texts.ASK_LOCATION)])
    assert citizen.citizen(db_session).last_message_at is not None


# --- the account cache ----------------------------------------------------------------------------------------------


def _account_queries(seen: list[str]) -> int:
    return sum(1 for s in seen if s == "SELECT wechat_account")


def test_the_account_is_read_once_and_then_served_from_the_cache(phone, bot_app):
    citizen = phone()
    engine = bot_app.extensions["qingsu.engine"]
    with statements(engine) as first:
        citizen.click("GUIDE")
    with statements(engine) as later:
        citizen.click("MY_PETITIONS")
        phone().say(PROBLEM)
    assert (_account_queries(first), _account_queries(later)) == (1, 0)


def test_an_account_changed_in_this_process_is_used_at_once(phone, accounts, client, db_session):
    citizen = phone()
    citizen.click("GUIDE")
    account = db_session.scalars(select(WechatAccount).filter_by(district_code="shinan")).one()
    account.token = "renewedtoken"
    db_session.commit()
    renewed = WireAccount(
        appid=accounts.safe.appid, token="renewedtoken", encoding_aes_key=accounts.safe.encoding_aes_key
    )
    assert (
        client.get("/wechat/shinan", query_string=verify_url_params(renewed, "e1")).get_data(as_text=True)
        == "e1"
    )
    assert (
        client.get("/wechat/shinan", query_string=verify_url_params(accounts.safe, "e2")).status_code == 403
    )
    account.enabled = False
    db_session.commit()
    assert client.get("/wechat/shinan", query_string=verify_url_params(renewed, "e3")).status_code == 404


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(bot_app) -> _Clock:  # type: ignore[no-untyped-def]
    clock = _Clock()
    bot_app.extensions[ACCOUNTS_KEY].clock = clock
    return clock


def _change_elsewhere(db_session, **values) -> None:  # type: ignore[no-untyped-def]
    """Change the shinan account as another worker process would: no ORM event reaches this process's cache."""
    table = WechatAccount.__table__
    db_session.execute(update(table).where(table.c.district_code == "shinan").values(**values))
    db_session.commit()


def test_new_keys_set_by_another_worker_are_used_from_their_first_message(
    accounts, client, db_session, clock
):
    assert (
        client.get("/wechat/shinan", query_string=verify_url_params(accounts.safe, "e0")).status_code == 200
    )
    _change_elsewhere(db_session, token="elsewheretoken")
    renewed = WireAccount(
        appid=accounts.safe.appid, token="elsewheretoken", encoding_aes_key=accounts.safe.encoding_aes_key
    )
    # Within a second of reading the account, a refusal is not worth a query: a flood of forged requests costs none.
    assert client.get("/wechat/shinan", query_string=verify_url_params(renewed, "e1")).status_code == 403
    clock.now += 1.5
    assert (
        client.get("/wechat/shinan", query_string=verify_url_params(renewed, "e2")).get_data(as_text=True)
        == "e2"
    )
    assert (
        client.get("/wechat/shinan", query_string=verify_url_params(accounts.safe, "e3")).status_code == 403
    )


def test_an_account_disabled_by_another_worker_stops_answering_when_its_entry_expires(
    accounts, bot_app, client, db_session, clock
):
    assert (
        client.get("/wechat/shinan", query_string=verify_url_params(accounts.safe, "e0")).status_code == 200
    )
    _change_elsewhere(db_session, enabled=False)
    assert (
        client.get("/wechat/shinan", query_string=verify_url_params(accounts.safe, "e1")).status_code == 200
    )
    clock.now += bot_app.config["WECHAT"]["account_cache_seconds"]
    assert (
        client.get("/wechat/shinan", query_string=verify_url_params(accounts.safe, "e2")).status_code == 404
    )


# --- first messages arriving together -------------------------------------------------------------------------------


def _deliver_together(citizen, messages: list[str]) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(messages))
    results: dict[int, tuple[int, str]] = {}
    errors: list[BaseException] = []

    def deliver(index: int, xml: str) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = citizen.post(xml)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(i, xml)) for i, xml in enumerate(messages)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return [results[i] for i in range(len(messages))]


@pytest.fixture
def slow_first_lookup(monkeypatch):  # type: ignore[no-untyped-def]
    """Every delivery looks the citizen up, then waits, so that all of them have found no citizen before any
    commits."""
    real = bot.handlers._citizen_for

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = real(*args, **kwargs)
        time.sleep(0.3)
        return found

    monkeypatch.setattr(bot.handlers, "_citizen_for", slow)


def test_a_first_message_delivered_three_times_at_once_makes_one_citizen_and_one_reply(
    phone, db_session, slow_first_lookup
):
    citizen = phone()
    xml = citizen.wire.build_text(citizen.openid, PROBLEM, msg_id=7_100_000_001)
    assert _deliver_together(citizen, [xml] * 3) == [(200, FIRST_REPLY)] * 3
    assert (
        _count(db_session, Citizen),
        _count(db_session, Conversation),
        _count(db_session, InboundMessage),
    ) == (
        1,
        1,
        1,
    )
    verify_dialog(citizen, [("1", texts.ASK_LOCATION)])


def test_two_different_first_messages_at_once_are_both_handled(phone, db_session, slow_first_lookup, caplog):
    caplog.set_level(logging.INFO, logger="bot.webhook")
    citizen = phone()
    subscribe = citizen.wire.build_event(citizen.openid, "subscribe")
    problem = citizen.wire.build_text(citizen.openid, PROBLEM)
    [(status_1, welcome), (status_2, first)] = _deliver_together(citizen, [subscribe, problem])
    assert (status_1, status_2) == (200, 200)
    assert "暖南诉办" in welcome and first == FIRST_REPLY
    assert (
        _count(db_session, Citizen),
        _count(db_session, Conversation),
        _count(db_session, InboundMessage),
    ) == (
        1,
        1,
        2,
    )
    # Both presumed the citizen new; the second's INSERT met the first's row (committed or being committed) and
    # wrote nothing, and the message was handled again as the existing citizen's.
    assert "handling it again" in caplog.text
    verify_dialog(citizen, [("1", texts.ASK_LOCATION)])


# --- a connection the server closed ---------------------------------------------------------------------------------


def test_a_message_that_meets_a_connection_closed_by_the_server_is_answered_right_on_a_new_one(
    phone, bot_app, db_session, caplog
):
    """Pooled PostgreSQL connections are not pinged at checkout: the first statement on a connection the server
    terminated fails, and the webhook handles the message again on a new connection (no SYSTEM_BUSY, no 500)."""
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("terminating a server backend is PostgreSQL's")
    caplog.set_level(logging.WARNING, logger="bot.webhook")
    engine = bot_app.extensions["qingsu.engine"]
    known, newcomer = phone(), phone()
    assert known.say(PROBLEM) == FIRST_REPLY
    db_session.close()

    def terminate_the_pooled_connections() -> None:
        # One connection left in each of the app's two pools (the sessions', and the autocommit one of
        # `execute_alone`), whose server processes are then terminated from outside the pools, as a restart would.
        engine.dispose()
        with engine.connect() as conn:
            pids = [conn.scalar(text("SELECT pg_backend_pid()"))]
        session = bot_app.extensions["qingsu.sessionmaker"]()
        pids.append(execute_alone(session, select(func.pg_backend_pid()), {}).scalar_one())
        session.close()
        assert pids[0] != pids[1]
        administrator = create_engine(bot_app.config["DATABASE_URL"])
        with administrator.connect() as conn:
            for pid in pids:
                assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        administrator.dispose()

    terminate_the_pooled_connections()
    assert newcomer.say(PROBLEM) == FIRST_REPLY
    assert "lost the database connection" in caplog.text
    # The same for a known citizen's turn, which meets the stale connection of one pool, and then must not meet the
    # other's; nothing was written twice.
    terminate_the_pooled_connections()
    assert known.say("1") == texts.ASK_LOCATION
    assert newcomer.say("1") == texts.ASK_LOCATION
    assert caplog.text.count("lost the database connection") == 2
    assert (
        _count(db_session, Citizen),
        _count(db_session, Conversation),
        _count(db_session, InboundMessage),
    ) == (2, 2, 4)


# --- request handling that a message does not need ------------------------------------------------------------------


@pytest.mark.parametrize(
    "envelope",
    [
        # As WeChat sends it: read without the XML parser.
        "<xml><ToUserName><![CDATA[{to}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
        # Any other form goes through the parser: an extra field, a comment, an entity in the envelope.
        "<xml><ToUserName><![CDATA[{to}]]></ToUserName><AgentID>1</AgentID><Encrypt>{encrypt}</Encrypt></xml>",
        "<?xml version='1.0'?><xml><!-- c --><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
        "<xml><ToUserName>a&amp;b</ToUserName><Encrypt>{encrypt}</Encrypt></xml>",
    ],
)
def test_every_well_formed_envelope_is_read(phone, accounts, envelope: str) -> None:
    citizen = phone()
    query, body = sign_request(accounts.safe, accounts.safe.build_text(citizen.openid, PROBLEM))
    encrypted = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", body.decode()).group(1)  # type: ignore[union-attr]
    rewritten = envelope.format(to=accounts.safe.original_id, encrypt=encrypted).encode()
    response = citizen.client.post(
        "/wechat/shinan", query_string=query, data=rewritten, content_type="text/xml"
    )
    assert response.status_code == 200
    assert parse_reply(decrypt_reply(accounts.safe, query, response.get_data()))["Content"] == FIRST_REPLY


def test_an_envelope_with_two_encrypt_fields_is_refused(phone, accounts) -> None:
    citizen = phone()
    query, body = sign_request(accounts.safe, accounts.safe.build_text(citizen.openid, PROBLEM))
    doubled = body.replace(b"</xml>", b"<Encrypt><![CDATA[QUJD]]></Encrypt></xml>")
    response = citizen.client.post(
        "/wechat/shinan", query_string=query, data=doubled, content_type="text/xml"
    )
    assert response.status_code == 400


def test_the_webhook_neither_reads_nor_writes_a_cookie_session(phone, bot_app) -> None:
    citizen = phone()
    citizen.client.set_cookie(bot_app.config.get("SESSION_COOKIE_NAME", "session"), "not-a-signed-session")
    seen: list[object] = []

    @bot_app.after_request
    def look(response):  # type: ignore[no-untyped-def]
        seen.append(type(session._get_current_object()))  # type: ignore[attr-defined]
        return response

    assert citizen.say(PROBLEM) == FIRST_REPLY
    assert seen == [NullSession]


@pytest.mark.parametrize(
    "query_string",
    [
        "signature=ab12&timestamp=1700000000&nonce=42&openid=oAbc-_9&encrypt_type=aes&msg_signature=cd34",
        "a=1&a=2&b&&c=&=d",
        "a=%E4%B8%AD&b=x+y&a=2",
        "a=中&b=1",
        "",
    ],
)
def test_the_query_is_read_as_werkzeug_reads_it(bot_app, query_string: str) -> None:
    with bot_app.test_request_context("/wechat/shinan", query_string=query_string):
        assert query_of(flask_request.environ) == flask_request.args.to_dict()


def test_a_first_contact_whose_dialog_changed_more_is_written_by_the_orm_with_its_conversation(
    bot_app, accounts, db_session
):
    """The dialog builds a new citizen and their conversation without attribute events (`unevented`); when the
    message changed more than those rows, the session's flush writes them, the conversation's citizen filled in."""
    now = utcnow()
    citizen = unevented(
        Citizen, district_code="shinan", openid="o-more", subscribed=True, created_at=now, last_message_at=now
    )
    conversation = unevented(Conversation, citizen=citizen, flow="idle", step="", data={})
    citizen.__dict__["conversation"] = conversation
    conversation.flow, conversation.data = "report", {"content": "路灯不亮"}  # as the dialog's last step
    db_session.add(Citizen(district_code="shinan", openid="o-other", subscribed=True, created_at=now))
    record = {"district_code": "shinan", "dedupe_key": "shinan:msg:more", "created_at": now, "reply": "好", "done": True}
    assert _write_first_contact(db_session, record, citizen) is None
    db_session.commit()
    written = db_session.execute(
        select(Citizen.openid, Conversation.flow, Conversation.data).join(Conversation.citizen)
    ).all()
    assert [tuple(row) for row in written] == [("o-more", "report", {"content": "路灯不亮"})]
    assert _count(db_session, Citizen) == 2 and _count(db_session, InboundMessage) == 1
    assert citizen.conversation is conversation and conversation.citizen is citizen
