"""The citizen's reply page: the whole unified reply, the petition's progress and the rating, at a signed link.

The 'replied' template message can carry only about twenty characters of the reply, so it links (its ``url``) to
``/r/<token>``. The token is the petition's and citizen's ids signed with the application's ``SECRET_KEY``
(itsdangerous, HMAC-SHA1 under a salt of its own): nobody can make one for another petition, and no sign-in is
needed — WeChat's in-app browser opens it as it is. The page shows this one petition and nothing else. The link
stops working ``[web] reply_link_grace_days`` after the petition is closed; a wrong or expired link gets a page
that says so (403 / 410) and shows nothing of any petition.

Rating on the page is the workflow's ``evaluate`` action, as in chat: the same rules, once per round; a second
submission (a double click, a reload, another tab) changes nothing and says that the rating is already in. The form
carries a CSRF token (Flask-WTF), and the page is served with the site's content security policy.

The page's address is ``[web] public_base_url``; empty, the demo uses the address the site is served on.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from models import Citizen, Evaluation, Petition, Reply, utcnow
from models.db import CONFLICT, classify_failure, get_session
from models.enums import PetitionState, ReplyState, Resolution, Satisfaction
from workflow.engine import perform
from workflow.errors import InvalidInput, StateConflict, TransitionRefused
from workflow.limits import MAX_LENGTH
from workflow.queries import citizen_timeline
from workflow.reply_link import link_expires_at, read_token

log = logging.getLogger(__name__)

bp = Blueprint("reply_page", __name__, url_prefix="/r", template_folder="templates", static_folder="static",
               static_url_path="/static")

COMMENT_LIMIT = MAX_LENGTH["comment"]


# --- the page ------------------------------------------------------------------------------------------------------

SATISFACTION_CHOICES = tuple(Satisfaction)
RESOLUTION_CHOICES = tuple(Resolution)


@dataclass(frozen=True)
class _Opened:
    petition: Petition
    citizen: Citizen


def _open(token: str) -> _Opened | ResponseReturnValue:
    """The petition of a valid, unexpired token, or the refusal page."""
    ids = read_token(current_app.config["SECRET_KEY"], token)
    session = get_session()
    petition = session.get(Petition, ids[0]) if ids else None
    citizen = session.get(Citizen, ids[1]) if ids else None
    if petition is None or citizen is None or petition.citizen_id != citizen.id:
        return _refused(403, "链接无效", "这个链接无效或不完整。请从公众号消息中重新打开，或在公众号回复诉求编号查询。")
    grace = dt.timedelta(days=float(current_app.config["WEB"]["reply_link_grace_days"]))
    expires = link_expires_at(petition, grace)
    if expires is not None and utcnow() >= expires:
        return _refused(
            410, "链接已过期", "该诉求已办结，答复页面的链接已过期。如需查询，请在公众号回复诉求编号。"
        )
    return _Opened(petition, citizen)


def _refused(status: int, title: str, message: str) -> ResponseReturnValue:
    return render_template("reply_refused.html", title=title, message=message), status


def _render(opened: _Opened, *, notice: str = "", status: int = 200) -> ResponseReturnValue:
    session = get_session()
    petition = opened.petition
    replies = list(
        session.scalars(
            select(Reply)
            .where(Reply.petition_id == petition.id, Reply.state == ReplyState.SENT)
            .order_by(Reply.handling_round.desc(), Reply.id.desc())
        )
    )
    evaluations = {
        e.handling_round: e
        for e in session.scalars(select(Evaluation).where(Evaluation.petition_id == petition.id))
    }
    rateable = (
        petition.state == PetitionState.AWAITING_EVALUATION and petition.handling_round not in evaluations
    )
    tz = current_app.config["CALENDAR"]["timezone"]
    return (
        render_template(
            "reply_page.html",
            p=petition,
            replies=replies,
            evaluations=evaluations,
            timeline=citizen_timeline(petition),
            rateable=rateable,
            satisfactions=SATISFACTION_CHOICES,
            resolutions=RESOLUTION_CHOICES,
            comment_limit=COMMENT_LIMIT,
            notice=notice,
            tz=tz,
            token=request.view_args["token"] if request.view_args else "",
        ),
        status,
    )


@bp.get("/<token>")
def show(token: str) -> ResponseReturnValue:
    """The reply page of the petition the token was signed for."""
    opened = _open(token)
    if not isinstance(opened, _Opened):
        return opened
    return _render(opened, notice=_NOTICES.get(request.args.get("done", ""), ""))


_NOTICES = {
    "closed": "感谢您的评价！诉求已办结。",
    "again": "感谢您的评价，很抱歉办理结果没有让您满意。诉求已退回平台进行二次办理，办理结果会再次通知您。",
    "assessment": "感谢您的评价，很抱歉二次办理仍未让您满意。平台将对承办单位进行履职评估，并继续跟进您的诉求。",
}


@bp.post("/<token>/rating")
def rate(token: str) -> ResponseReturnValue:
    """Rate the reply: the workflow's ``evaluate`` action with the citizen as actor; then back to the page."""
    opened = _open(token)
    if not isinstance(opened, _Opened):
        return opened
    petition = opened.petition
    session = get_session()
    satisfaction = _choice(Satisfaction, request.form.get("satisfaction"))
    resolution = _choice(Resolution, request.form.get("resolution"))
    if satisfaction is None or resolution is None:
        return _render(opened, notice="请选择满意度和解决情况后再提交。", status=422)
    comment = (request.form.get("comment") or "").strip()
    try:
        perform(
            session,
            petition,
            "evaluate",
            actor=opened.citizen,
            now=utcnow(),
            expected_state=PetitionState.AWAITING_EVALUATION,
            satisfaction=satisfaction,
            resolution=resolution,
            comment=comment,
        )
        session.commit()
    except (StateConflict, TransitionRefused) as refused:
        session.rollback()
        session.refresh(petition)
        return _render(opened, notice=_why_not_now(petition, str(refused)), status=409)
    except InvalidInput as invalid:
        session.rollback()
        return _render(opened, notice=str(invalid), status=422)
    except Exception as exc:
        if classify_failure(exc) != CONFLICT:
            raise
        # Two submissions at the same moment: the other one was recorded.
        session.rollback()
        session.refresh(petition)
        return _render(opened, notice=_why_not_now(petition, ""), status=409)
    done = {PetitionState.CLOSED: "closed", PetitionState.ASSESSMENT: "assessment"}.get(petition.state, "again")
    return redirect(url_for("reply_page.show", token=token, done=done), code=303)


def _why_not_now(petition: Petition, reason: str) -> str:
    if petition.state == PetitionState.UNRATED:
        return "评价期限已过：答复送达后评价期限内未收到您的评价，已按“未评价”办结，不能再评价。"
    if petition.state != PetitionState.AWAITING_EVALUATION:
        return "您已评价过本轮办理结果，无需重复提交。"
    return reason or "暂时不能评价，请稍后再试。"


def _choice(cls: type[Satisfaction] | type[Resolution], value: str | None) -> Any:
    """The member of `cls` with this value; None for none or a value that is not one (a tampered form)."""
    try:
        return cls(value) if value else None
    except ValueError:
        return None
