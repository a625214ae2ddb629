"""The fake WeChat API served over real HTTP on 127.0.0.1, as a fixture (`fake_wechat`) for the tests that need one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.live import serve
from wechat.fake import FakeWechat, create_fake_app


@dataclass(frozen=True)
class FakeWechatServer:
    """A running fake: `fake` to arrange and inspect, `base_url` for `[wechat] api_base_url`."""

    fake: FakeWechat
    base_url: str


@pytest.fixture
def fake_wechat() -> Iterator[FakeWechatServer]:
    """A fresh fake WeChat API on 127.0.0.1, on a free port, in a background thread (threaded server)."""
    fake = FakeWechat()
    with serve(create_fake_app(fake)) as url:
        yield FakeWechatServer(fake, url)
