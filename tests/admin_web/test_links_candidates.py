"""The 可能重复 suggestions (`workflow.duplicates`) and linking (`workflow.links`) together: the candidate's own form
on the petition page links the new petition to the open one it resembles."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from models import Petition, User, utcnow
from models.enums import DeptType, PetitionState
from tests.admin_web import f2_support
from tests.admin_web.f2_support import World
from tests.admin_web.test_hot_issues_pages import NEAR_DUPLICATE, _lamps
from tests.factories import make_petition
from workflow.duplicates import check_new_petitions

site, api_client, world = f2_support.site, f2_support.api_client, f2_support.world

FORM_RE = re.compile(r'<form method="post" action="(/admin/petitions/[^"]+/link)".*?</form>', re.S)


def test_the_possible_duplicate_form_links_the_new_petition_to_the_open_one(
    site: Flask, world: World, login_as: Callable[[User], FlaskClient]
):
    lamps = _lamps(world, PetitionState.HANDLING)
    new = make_petition(world.session, content=NEAR_DUPLICATE, now=utcnow() - dt.timedelta(minutes=5))
    new.dept_type = DeptType.URBAN_MGMT
    world.session.commit()
    check_new_petitions(site, utcnow())
    client = login_as(world.users["dispatcher"])
    page = client.get(f"/admin/petitions/{new.number}").get_data(as_text=True)
    form = FORM_RE.search(page[page.index("可能重复") :])
    assert form is not None and form.group(1) == f"/admin/petitions/{new.number}/link"
    fields = dict(re.findall(r'name="(csrf_token|target)" value="([^"]+)"', form.group(0)))
    assert fields["target"] in {p.number for p in lamps}
    answer = client.post(form.group(1), data=fields)
    assert answer.status_code == 302
    world.session.expire_all()
    linked = world.session.get(Petition, new.id)
    assert linked.state == PetitionState.LINKED and linked.duplicate_of.number == fields["target"]
    after = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert f'<a href="/admin/petitions/{fields["target"]}">{fields["target"]}</a>' in after
    assert "关联为重复" not in after  # no longer a new petition: no suggestions
