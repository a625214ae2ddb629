"""Fixtures for the bot's tests: a fake WeChat API served over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from werkzeug.serving import make_server

from bot.fake_api import FakeWechat, create_fake_app


@dataclass(frozen=True)
class FakeWechatServer:
    """A running fake: `fake` to arrange and inspect, `base_url` for `[wechat] api_base_url`."""

    fake: FakeWechat
    base_url: str


@pytest.fixture
def fake_wechat() -> Iterator[FakeWechatServer]:
    """A fresh fake WeChat API on 127.0.0.1, on a free port, in a background thread (threaded server)."""
    fake = FakeWechat()
    server = make_server("127.0.0.1", 0, create_fake_app(fake), threaded=True)
    # A short poll interval: shutdown() waits up to one interval, and every test using the fake pays it.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-wechat", daemon=True
    )
    thread.start()
    try:
        yield FakeWechatServer(fake, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
