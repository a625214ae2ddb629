"""Fixtures of the WeChat layer's tests: the fake API over real HTTP."""

from tests.fake_wechat import FakeWechatServer, fake_wechat  # noqa: F401  (the fixture and its type)
