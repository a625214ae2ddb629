"""A linked duplicate's petitioner (`workflow.links`) rates on their own reply page, reached from their own
'replied' template message; the rating is their petition's, and an unsatisfied one sends it, unlinked, to its own
second handling."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from models import Petition, utcnow
from models.enums import PetitionState
from tests.factories import make_citizen, make_petition
from tests.workflow.notify_support import (  # noqa: F401  (fixtures)
    REPLY,
    Stage,
    app_config_fixture,
    stage_fixture,
    wechat_fixture,
)
from tests.workflow.test_reply_page import PUBLIC, reply_app_config  # noqa: F401  (the app_config fixture)
from workflow.engine import perform
from workflow.links import link_duplicate
from workflow.outbox import deliver_due

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
MINUTE = dt.timedelta(minutes=1)


def test_a_linked_petitioner_rates_on_their_own_reply_page(app, client, stage: Stage):
    stage.use_templates()
    s, w = stage.session, stage.world
    now = utcnow() - MINUTE
    master = stage.accepted_petition(now)
    neighbour = make_citizen(s, "shinan")
    duplicate = make_petition(s, citizen=neighbour, now=now, content="楼下烧烤摊半夜还在营业，吵得睡不着。")
    link_duplicate(s, duplicate, master.number, w.dispatcher, now)
    perform(s, master, "accept", w.urban_handler, now)
    perform(s, master, "submit_reply", w.urban_handler, now, **REPLY)
    perform(s, master, "approve_reply", w.urban_reviewer, now)
    perform(s, master, "send_reply", w.dispatcher, now)
    s.commit()
    deliver_due(app, now + MINUTE)
    (message,) = [m for m in stage.fake.messages(openid=neighbour.openid) if m.template_id == "tpl-replied"]
    assert message.url is not None and message.url.startswith(f"{PUBLIC}/r/")
    path = urlsplit(message.url).path
    page = client.get(path).get_data(as_text=True)
    assert duplicate.number in page and REPLY["result"] in page
    assert REPLY["petitioner_info"] not in page and master.number not in page  # not the other petitioner's
    token = CSRF_RE.search(page).group(1)
    form = {
        "csrf_token": token,
        "satisfaction": "unsatisfied",
        "resolution": "unresolved",
        "comment": "还在营业",
    }
    assert client.post(f"{path}/rating", data=form).status_code == 303
    s.expire_all()
    rated = s.get(Petition, duplicate.id)
    assert rated.state == PetitionState.PENDING_DISPATCH and rated.handling_round == 2
    assert rated.duplicate_of_id is None
    assert s.get(Petition, master.id).state == PetitionState.AWAITING_EVALUATION
