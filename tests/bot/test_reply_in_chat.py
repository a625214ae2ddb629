"""In chat, the petition number shows the whole reply (its five elements) and the link to the reply page, which
opens for this citizen's petition."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from qingsu.config import merge
from tests.bot.test_dialog_rating import petition, submit

PUBLIC = "https://qingsu.example.cn"
FIVE_ELEMENTS = ("市南区居民", "《青岛市城市市容和环境卫生管理条例》", "已责令烧烤摊夜间停止露天经营。", "李明", "0532-88886666")


@pytest.fixture
def app_config(app_config):  # type: ignore[no-untyped-def]
    return merge(app_config, {"WEB": {"public_base_url": PUBLIC}})


def test_the_number_shows_the_whole_reply_and_its_page(phone, db_session, handling, client):
    """Rule: the reply (petitioner's details, policy basis, result, responsible person, contact phone) reaches the
    citizen; asking by number shows it in full."""
    citizen = phone()
    number = submit(citizen)
    before = citizen.say(number)
    assert "办理结果" not in before and "/r/" not in before
    handling.reply(petition(db_session, number))
    answer = citizen.say(number)
    for element in FIVE_ELEMENTS:
        assert element in answer
    link = re.search(rf"{re.escape(PUBLIC)}/r/\S+", answer)
    assert link is not None
    page = client.get(urlsplit(link.group(0)).path).get_data(as_text=True)
    assert number in page and all(element in page for element in FIVE_ELEMENTS)
