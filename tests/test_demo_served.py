"""The demo as `make run` serves it, but under gunicorn with two workers on a port other than 5000.

Rule of the demo (issue 11): every message the platform sends reaches the fake WeChat exactly once, and its inbox shows
each once, whichever worker is asked — the fake keeps one state for all workers (`[wechat] fake_state_file`) and the
WeChat API address follows the address the demo is served on (`api_base_url = "self"`).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qingsu.config import EXAMPLE_CONFIG

BIN = Path(sys.executable).parent
WAIT_SECONDS = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert port != 5000
    return port


def _wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {WAIT_SECONDS}s")


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()
    except OSError:
        return 0, b""


@pytest.fixture
def served_demo(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The demo's database seeded, and gunicorn -w 2 serving it on a free port; yields (base URL, database file)."""
    database = tmp_path / "demo.db"
    env = {
        **os.environ,
        "QINGSU_CONFIG": str(EXAMPLE_CONFIG),
        "DATABASE_URL": f"sqlite:///{database}",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    for command in (["db", "upgrade"], ["seed-demo"]):
        done = subprocess.run(
            [str(BIN / "qingsu"), *command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    port = _free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "qingsu:create_app()"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _get(f"{base}/healthz")[0] == 200, "gunicorn answering")
        yield base, database
    finally:
        server.terminate()
        server.wait(30)
        log.close()


@pytest.mark.system_clock  # the workers and their embedded scheduler run on the system's clock
def test_the_demo_under_two_workers_on_another_port_delivers_every_message_once(
    served_demo: tuple[str, Path],
) -> None:
    base, database = served_demo
    # Both workers serve requests (and learn their own address); one of them runs the embedded scheduler.
    for _ in range(20):
        assert _get(f"{base}/healthz")[0] == 200

    def rows() -> list[tuple[str, str | None]]:
        with sqlite3.connect(database) as connection:
            return connection.execute("SELECT state, client_msg_id FROM notification").fetchall()

    def sent() -> set[str]:
        return {client_msg_id for state, client_msg_id in rows() if state == "SENT"}

    def every_message_once(delivered: list[str], sent_before: set[str]) -> None:
        """What one worker shows: each message once, all those recorded sent, none the outbox did not send.

        The embedded scheduler keeps running on the system's clock (its housekeeping queues a rating reminder as
        soon as one is due, a minute after start on a slow machine), so the inbox is checked against the messages
        recorded sent before it was asked and the notifications sent or being sent after."""
        assert len(delivered) == len(set(delivered)), "a message reached WeChat twice"
        assert sent_before <= set(delivered)
        assert set(delivered) <= {client_msg_id for state, client_msg_id in rows() if state != "SKIPPED"}

    def settled() -> bool:
        found = rows()
        return bool(found) and all(state in ("SENT", "SKIPPED") for state, _ in found)

    _wait_for(settled, "every seeded notification sent")
    assert sent()
    # Each worker shows the one inbox: every message once.
    for _ in range(6):
        sent_before = sent()
        status, body = _get(f"{base}/fake-wechat/_fake/messages")
        assert status == 200
        every_message_once([m["client_msg_id"] for m in json.loads(body)["messages"]], sent_before)
    sent_before = sent()
    status, page = _get(f"{base}/fake-wechat/_fake/inbox")
    text = page.decode()
    assert status == 200 and len(sent_before) <= text.count('<div class="msg">') <= len(rows())
    # As the phone shows it: the account's name, the template's title and its keywords' names.
    assert "暖南诉办（市南区）" in text and "诉求受理通知" in text and "<dt>诉求编号</dt>" in text
    assert "character_string1" not in text
