"""The chat dialog: reporting a petition step by step, "my petitions", progress and rating.

The dialog's state lives in the citizen's `Conversation` row (flow, step, data), so any worker process can
continue it after a restart. A flow is a list of steps; each step has a prompt (`_ask_<flow>_<step>`) and an
answer method (`_answer_<flow>_<step>`) that returns one of three outcomes: `Done` (store the answer, go on to the
next step that is still unanswered), `Again` (stay and say why) or `End` (leave the flow). "上一步" pops the last
answered step and asks it again; "取消" leaves the flow; "帮助" explains the current step.

Business rules are not decided here: submitting and rating go through `workflow.intake` and `workflow.engine`.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot import texts
from bot.accounts import DistrictNames
from bot.intents import Intent, recognise
from bot.menu import MenuKey
from bot.validators import (
    DISTRICT_NAMES,
    Whereabouts,
    locate_address,
    mask_mobile,
    normalize,
    normalize_credit_code,
    normalize_mobile,
    not_words,
)
from classifier.screening import Screening
from classifier.suggest import Suggestion
from models import Citizen, Conversation, District, Evaluation, Petition
from models.enums import (
    CitizenKind,
    DeptType,
    InadmissibleCode,
    Nature,
    PetitionKind,
    PetitionState,
    Resolution,
    Satisfaction,
)
from models.handling import rating_passes
from workflow.engine import perform
from workflow.errors import WorkflowError
from workflow.inadmissible import ADVICE, rejection_text
from workflow.intake import expected_deadline, kind_for, submit_petition
from workflow.queries import (
    awaiting_evaluation_of,
    citizen_timeline,
    petition_by_number,
    petitions_of_citizen,
)

IDLE = "idle"
REPORT = "report"
RATE = "rate"
# A message that may be a new problem or a question about an existing petition: the dialog asks which.
CHOOSE = "choose"

REPORT_STEPS = ("kind", "enterprise_name", "credit_code", "content", "location", "phone", "confirm")
RATE_STEPS = ("pick", "satisfaction", "resolution", "reason", "confirm")
ENTERPRISE_STEPS = frozenset({"enterprise_name", "credit_code"})

NUMBER_RE = re.compile(r"[A-Za-z]{2}\d{12}")
RATE_RE = re.compile(r"(?:评价|我要评价)\s*([A-Za-z]{2}\d{12})?")
MIN_CONTENT_LENGTH = 4
MIN_ADDRESS_LENGTH = 4
# Petition.location holds 300 characters.
MAX_ADDRESS_LENGTH = 300
# Progress shows the latest steps only, so that the answer fits in one WeChat message.
PROGRESS_STEPS = 12
MY_PETITIONS_LIMIT = 5

SATISFACTION_ANSWERS = {
    "1": Satisfaction.SATISFIED,
    "满意": Satisfaction.SATISFIED,
    "非常满意": Satisfaction.SATISFIED,
    "2": Satisfaction.BASICALLY_SATISFIED,
    "基本满意": Satisfaction.BASICALLY_SATISFIED,
    "还行": Satisfaction.BASICALLY_SATISFIED,
    "3": Satisfaction.UNSATISFIED,
    "不满意": Satisfaction.UNSATISFIED,
}
RESOLUTION_ANSWERS = {
    "1": Resolution.RESOLVED,
    "解决": Resolution.RESOLVED,
    "已解决": Resolution.RESOLVED,
    "2": Resolution.BASICALLY_RESOLVED,
    "基本解决": Resolution.BASICALLY_RESOLVED,
    "3": Resolution.UNRESOLVED,
    "未解决": Resolution.UNRESOLVED,
    "没解决": Resolution.UNRESOLVED,
    "没有解决": Resolution.UNRESOLVED,
}


@dataclass(frozen=True)
class Said:
    """What the citizen sent, as a step sees it: text, or a WeChat location."""

    text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    label: str | None = None


@dataclass(frozen=True)
class Done:
    value: Any
    ack: str = ""


@dataclass(frozen=True)
class Again:
    message: str


@dataclass(frozen=True)
class End:
    message: str


Outcome = Done | Again | End


def command_form(text: str) -> str:
    """How a message is compared with command words: NFKC, trimmed, lower case, without a final full stop
    (voice recognition adds one)."""
    return normalize(text).rstrip("。．.！!").lower()


# Built once (it keeps its cache key): run on every message of a known citizen.
_LOCKED_CONVERSATION = (
    select(Conversation)
    .where(Conversation.citizen_id == bindparam("citizen_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


class Dialog:
    """One citizen's conversation with one district account, for the length of one inbound message.

    Changes the session (conversation, citizen, petitions); the webhook commits.
    """

    def __init__(
        self,
        session: Session,
        citizen: Citizen,
        district: DistrictNames,
        now: dt.datetime,
        *,
        idle_minutes: int,
        timezone: str,
        screen: Callable[[str], Screening],
        suggest: Callable[[str], Suggestion | None],
        first_contact: bool = False,
    ) -> None:
        """`first_contact`: the citizen was created by this very message, so they have no conversation and no
        petitions yet and nobody else can be changing them (their row is not written yet: the webhook writes it
        with the new conversation, see `Inbound.new_citizen`)."""
        self.session = session
        self.citizen = citizen
        self.district = district
        self.now = now
        self.idle_minutes = idle_minutes
        self.tz = ZoneInfo(timezone)
        self.screen = screen
        self.suggest = suggest
        self.first_contact = first_contact
        self.conversation = self._new_conversation() if first_contact else self._locked_conversation()
        self.flow = self.conversation.flow
        self.step = self.conversation.step
        self.data: dict[str, Any] = _copy(self.conversation.data or {})

    # --- entry points (one per kind of input) ------------------------------------------------------------------

    def on_text(self, text: str) -> str:
        """Answer a text message (or recognised speech)."""
        expired = self._expire()
        word = command_form(text)
        if expired:
            reply = self._idle_command(word)
            return self._finish(_join(expired, reply if reply is not None else texts.NOTHING_IN_PROGRESS))
        if self.flow == IDLE:
            return self._finish(self._idle_text(text, word))
        if self.flow == CHOOSE:
            return self._finish(self._answer_choice(text, word))
        if self.data.get("interrupted"):
            return self._finish(self._answer_interrupted(word))
        if word in texts.CANCEL_WORDS:
            message = texts.RATE_CANCELLED if self.flow == RATE else texts.CANCELLED
            self._reset()
            return self._finish(message)
        if word in texts.BACK_WORDS:
            return self._finish(self._back())
        if word in texts.HELP_WORDS:
            return self._finish(self._step_help())
        if word in texts.REPORT_WORDS:
            return self._finish(self.on_report_requested())
        if word in texts.MY_WORDS:
            return self._finish(self._with_reminder(self._my_petitions()))
        if word in texts.GUIDE_WORDS:
            return self._finish(self._with_reminder(texts.GUIDE))
        return self._finish(self._answer(Said(text=text)))

    def on_location(self, latitude: float | None, longitude: float | None, label: str) -> str:
        """Answer a WeChat location message."""
        expired = self._expire()
        self._drop_choice()
        if self.flow == IDLE:
            return self._finish(_join(expired, texts.NOTHING_IN_PROGRESS))
        if self.data.get("interrupted"):
            return self._finish(texts.interrupted(texts.STEP_TITLES[self.step]))
        if self.step != "location":
            return self._finish(_join(texts.FINISH_CURRENT_STEP, self._prompt()))
        return self._finish(self._answer(Said(latitude=latitude, longitude=longitude, label=label)))

    def on_image(self, media_id: str, url: str) -> str:
        """Attach an image to the petition being written."""
        expired = self._expire()
        if self.flow != REPORT:
            return self._finish(_join(expired, texts.IMAGE_WITHOUT_REPORT))
        images = self.data.setdefault("attachments", [])
        if len(images) >= texts.MAX_IMAGES:
            return self._finish(_join(texts.too_many_images(texts.MAX_IMAGES), self._prompt()))
        images.append({"kind": "image", "media_id": media_id, "url": url})
        return self._finish(_join(texts.image_added(len(images)), self._prompt()))

    def on_menu(self, key: str) -> str:
        """Answer a menu click."""
        expired = self._expire()
        self._drop_choice()
        if key == MenuKey.REPORT:
            reply = self.on_report_requested()
        elif key == MenuKey.MY_PETITIONS:
            reply = self._with_reminder(self._my_petitions())
        elif key == MenuKey.GUIDE:
            reply = self._with_reminder(texts.GUIDE)
        else:
            reply = self._with_reminder(texts.HELP)
        return self._finish(_join(expired, reply))

    def on_unsupported(self, notice: str) -> str:
        """Answer a message type the dialog cannot use, reminding the citizen of the current step."""
        expired = self._expire()
        self._drop_choice()
        return self._finish(_join(expired, self._with_reminder(notice)))

    def on_report_requested(self) -> str:
        """我要反映: start a report, or ask what to do with the one being written."""
        if self.flow == REPORT:
            self.data["interrupted"] = True
            return texts.interrupted(texts.STEP_TITLES[self.step])
        return self._start_report()

    # --- idle --------------------------------------------------------------------------------------------------

    def _idle_command(self, word: str) -> str | None:
        if word in texts.HELP_WORDS:
            return _join(texts.HELP, self._pending_hint())
        if word in texts.CANCEL_WORDS or word in texts.BACK_WORDS:
            return texts.NOTHING_IN_PROGRESS
        if word in texts.REPORT_WORDS:
            return self._start_report()
        if word in texts.MY_WORDS:
            return self._my_petitions()
        if word in texts.GUIDE_WORDS:
            return texts.GUIDE
        rate = RATE_RE.fullmatch(word)
        if rate:
            return self._start_rating(rate.group(1))
        if NUMBER_RE.fullmatch(word):
            return self._progress(word.upper())
        return None

    def _idle_text(self, text: str, word: str) -> str:
        reply = self._idle_command(word)
        if reply is not None:
            return reply
        if word in SATISFACTION_ANSWERS and not word.isdigit() and self._pending():
            started = self._start_rating(None)
            if self.flow == RATE and self.step == "satisfaction":
                return self._answer(Said(text=word))
            return started
        reply = self._intent_reply(text, word)
        if reply is not None:
            return reply
        if len(word) < MIN_CONTENT_LENGTH:
            # Too short to be a problem description: greet and explain rather than start a report.
            return self._welcome()
        what = not_words(text)
        if what is not None:
            return texts.not_a_description(text.strip(), what)
        return self._start_report(content=text.strip())

    def _welcome(self) -> str:
        return _join(texts.welcome(self.district.platform_name, self.district.name), self._pending_hint())

    def _intent_reply(self, text: str, word: str) -> str | None:
        """The answer to a message that is not a problem description (see `bot.intents`), or None for one that is."""
        recognised = recognise(word)
        district = self.district
        match recognised.intent:
            case Intent.PROGRESS:
                return self._my_petitions()
            case Intent.QUERY:
                return self._progress(recognised.number or "")
            case Intent.HUMAN:
                return texts.human(district.platform_name, district.hotline, district.service_hours)
            case Intent.BOT_COMPLAINT:
                return texts.bot_complaint(district.platform_name, district.hotline, district.service_hours)
            case Intent.THANKS:
                return _join(texts.THANKS, self._pending_hint())
            case Intent.ACK:
                return _join(texts.ACK, self._pending_hint())
            case Intent.GREETING:
                return self._welcome()
            case Intent.EITHER:
                self.flow, self.step, self.data = CHOOSE, "intent", {"text": text.strip()}
                return texts.ASK_NEW_OR_QUERY
        return None

    def _answer_choice(self, text: str, word: str) -> str:
        """The answer to "您是要反映新问题，还是查询已有诉求？"; anything else is taken as a new message."""
        held = self.data.get("text", "")
        self._reset()
        if word in texts.NEW_PROBLEM_WORDS:
            return self._start_report(content=held)
        if word in texts.EXISTING_WORDS:
            return self._my_petitions()
        if word in texts.CANCEL_WORDS:
            return texts.ACK
        return self._idle_text(text, word)

    def _drop_choice(self) -> None:
        # A menu click, a location or a picture instead of an answer: the question is dropped.
        if self.flow == CHOOSE:
            self._reset()

    def _pending(self) -> list[Petition]:
        if self.first_contact:
            return []
        return awaiting_evaluation_of(self.session, self.citizen)

    def _pending_hint(self) -> str:
        pending = self._pending()
        return texts.pending_evaluations(len(pending)) if pending else ""

    def _with_reminder(self, body: str) -> str:
        if self.flow == IDLE:
            return body
        return _join(body, texts.still_writing(self._prompt(), rating=self.flow == RATE))

    # --- the generic step machinery -----------------------------------------------------------------------------

    def _steps(self) -> tuple[str, ...]:
        return REPORT_STEPS if self.flow == REPORT else RATE_STEPS

    def _applies(self, step: str) -> bool:
        if step in ENTERPRISE_STEPS:
            return self.data["answers"].get("kind") == CitizenKind.ENTERPRISE.value
        if step == "reason":
            return not _rating_passes(self.data["answers"])
        return True

    def _next_step(self) -> str:
        answers = self.data["answers"]
        for step in self._steps():
            # Earlier steps first: a step's condition may read their answers.
            if step not in answers and self._applies(step):
                return step
        raise AssertionError("the confirm step is never answered, so a flow always has a next step")

    def _prompt(self) -> str:
        return getattr(self, f"_ask_{self.flow}_{self.step}")()

    def _answer(self, said: Said) -> str:
        step = self.step
        outcome: Outcome = getattr(self, f"_answer_{self.flow}_{step}")(said)
        if isinstance(outcome, Again):
            return outcome.message
        if isinstance(outcome, End):
            self._reset()
            return outcome.message
        self.data["answers"][step] = outcome.value
        self.data["path"].append(step)
        self.step = self._next_step()
        return _join(outcome.ack, self._prompt())

    def _back(self) -> str:
        path = self.data["path"]
        if not path:
            return _join(texts.ALREADY_FIRST_STEP, self._prompt())
        previous = path.pop()
        self.data["answers"].pop(previous, None)
        self.data.pop("draft", None)
        self.step = previous
        return self._prompt()

    def _step_help(self) -> str:
        explanation = texts.RATE_HELP if self.flow == RATE else texts.STEP_HELP[self.step]
        return _join(explanation, texts.STEP_HELP_FOOTER, self._prompt())

    def _answer_interrupted(self, word: str) -> str:
        if word in texts.CONTINUE_WORDS:
            del self.data["interrupted"]
            return self._prompt()
        if word in texts.RESTART_WORDS:
            return self._start_report()
        if word in texts.CANCEL_WORDS:
            self._reset()
            return texts.CANCELLED
        return texts.interrupted(texts.STEP_TITLES[self.step])

    # --- report: start and steps -----------------------------------------------------------------------------

    def _start_report(self, content: str | None = None) -> str:
        self.flow, self.data = REPORT, {"answers": {}, "path": [], "attachments": []}
        if content is None:
            self.step = "kind"
            return self._prompt()
        # A citizen who simply types a problem has given the description first; screen it at once.
        self.step = "content"
        outcome = self._answer_report_content(Said(text=content))
        if isinstance(outcome, End):
            self._reset()
            return outcome.message
        if isinstance(outcome, Again):
            return outcome.message
        self.data["answers"]["content"] = outcome.value
        self.data["path"].append("content")
        self.step = self._next_step()
        return _join(texts.CONTENT_NOTED, self._prompt())

    def _ask_report_kind(self) -> str:
        return texts.ASK_KIND

    def _answer_report_kind(self, said: Said) -> Outcome:
        word = command_form(said.text or "")
        if word in texts.PERSON_WORDS:
            return Done(CitizenKind.PERSON.value)
        if word in texts.ENTERPRISE_WORDS:
            return Done(CitizenKind.ENTERPRISE.value)
        return Again(_join(texts.BAD_KIND, texts.ASK_KIND))

    def _ask_report_enterprise_name(self) -> str:
        return texts.ASK_ENTERPRISE_NAME

    def _answer_report_enterprise_name(self, said: Said) -> Outcome:
        name = (said.text or "").strip()
        what = not_words(name)
        if what is not None:
            return Again(texts.not_an_enterprise_name(name, what))
        if not 2 <= len(name) <= 100:
            return Again(texts.BAD_ENTERPRISE_NAME)
        return Done(name)

    def _ask_report_credit_code(self) -> str:
        return texts.ASK_CREDIT_CODE

    def _answer_report_credit_code(self, said: Said) -> Outcome:
        code = normalize_credit_code(said.text or "")
        if code is None:
            return Again(texts.bad_credit_code(said.text or ""))
        return Done(code)

    def _ask_report_content(self) -> str:
        return texts.ASK_CONTENT

    def _answer_report_content(self, said: Said) -> Outcome:
        """A description is kept as a draft whenever the citizen is asked about it (a warning, the length limit),
        so that nothing typed is lost: "1" (or 确认) goes on with it, a new description replaces it."""
        if said.text is None:
            return Again(texts.ASK_CONTENT)
        draft = _draft(self.data.get("draft"))
        word = command_form(said.text)
        if draft is not None and (word in texts.CONTINUE_WORDS or word in texts.YES_WORDS):
            del self.data["draft"]
            if draft["screened"]:
                return Done(draft["text"])
            # The citizen accepted the cut of a description over the limit.
            content = draft["text"][: texts.MAX_CONTENT_LENGTH]
        else:
            content = said.text.strip()
            if len(content) < MIN_CONTENT_LENGTH:
                return Again(texts.DRAFT_KEPT if draft is not None else texts.CONTENT_TOO_SHORT)
            what = not_words(content)
            if what is not None:
                return Again(texts.not_a_description(content, what))
            if len(content) > texts.MAX_CONTENT_LENGTH:
                self.data["draft"] = {"text": content, "screened": False}
                return Again(texts.content_too_long(len(content)))
            self.data.pop("draft", None)
        screening = self.screen(content)
        if screening.admissible:
            return Done(content)
        code = InadmissibleCode(screening.code)
        advice = screening.advice or ADVICE[code]
        if code == InadmissibleCode.EMERGENCY:
            return End(texts.emergency(advice))
        self.data["draft"] = {"text": content, "screened": True}
        return Again(texts.inadmissible(code.label, advice))

    def _ask_report_location(self) -> str:
        return texts.ASK_LOCATION

    def _answer_report_location(self, said: Said) -> Outcome:
        if said.text is not None:
            address = said.text.strip()
            what = not_words(address)
            if what is not None:
                return Again(texts.not_a_place(address, what))
            if len(address) < MIN_ADDRESS_LENGTH:
                return Again(texts.LOCATION_TOO_SHORT)
            if len(address) > MAX_ADDRESS_LENGTH:
                return Again(texts.LOCATION_TOO_LONG)
        else:
            address = (said.label or "").strip() or f"{said.latitude},{said.longitude}"
        verdict = locate_address(address, self.district.code, said.latitude, said.longitude)
        if verdict.whereabouts == Whereabouts.OUTSIDE_QINGDAO:
            return Again(texts.outside_qingdao(address))
        if verdict.whereabouts == Whereabouts.OTHER_DISTRICT and verdict.district_code is not None:
            other = self.session.get(District, verdict.district_code)
            name = other.name if other else DISTRICT_NAMES[verdict.district_code][0]
            platform = other.platform_name if other else name
            return Again(texts.other_district(address, name, platform))
        return Done(
            {"address": address[:MAX_ADDRESS_LENGTH], "latitude": said.latitude, "longitude": said.longitude}
        )

    def _ask_report_phone(self) -> str:
        if self.citizen.phone:
            return texts.ask_phone_reuse(mask_mobile(self.citizen.phone))
        return texts.ASK_PHONE

    def _answer_report_phone(self, said: Said) -> Outcome:
        text = (said.text or "").strip()
        if self.citizen.phone and command_form(text) in texts.REUSE_PHONE_WORDS:
            return Done(self.citizen.phone)
        number = normalize_mobile(text)
        if number is None:
            return Again(texts.bad_phone(said.text or ""))
        return Done(number)

    def _ask_report_confirm(self) -> str:
        answers = self.data["answers"]
        enterprise = answers.get("kind") == CitizenKind.ENTERPRISE.value
        return texts.summary(
            kind=CitizenKind(answers["kind"]).label,
            enterprise=f"{answers['enterprise_name']}（{answers['credit_code']}）" if enterprise else None,
            content=answers["content"],
            images=len(self.data.get("attachments", [])),
            location=answers["location"]["address"],
            phone=answers["phone"],
        )

    def _answer_report_confirm(self, said: Said) -> Outcome:
        if command_form(said.text or "") not in texts.YES_WORDS:
            return Again(texts.CONFIRM_AGAIN)
        return End(self._submit())

    def _submit(self) -> str:
        answers = self.data["answers"]
        citizen_kind = CitizenKind(answers["kind"])
        enterprise = citizen_kind == CitizenKind.ENTERPRISE
        kind = kind_for(citizen_kind)
        suggestion = self.suggest(answers["content"])
        location = answers["location"]
        petition = submit_petition(
            self.session,
            district_code=self.district.code,
            kind=kind,
            content=answers["content"],
            now=self.now,
            citizen=self.citizen,
            location=location["address"],
            latitude=location["latitude"],
            longitude=location["longitude"],
            contact_name=answers["enterprise_name"] if enterprise else self.citizen.name,
            contact_phone=answers["phone"],
            attachments=self.data.get("attachments", []),
            suggestion=suggestion.to_dict() if suggestion is not None else None,
        )
        self.citizen.kind = citizen_kind
        self.citizen.phone = answers["phone"]
        if enterprise:
            self.citizen.name = answers["enterprise_name"]
            self.citizen.credit_code = answers["credit_code"]
        days, deadline = self._expected_deadline(kind, suggestion)
        return texts.receipt(
            number=petition.number,
            category=_category(suggestion),
            days=days,
            deadline=deadline,
        )

    def _expected_deadline(
        self, kind: PetitionKind, suggestion: Suggestion | None
    ) -> tuple[int | None, str | None]:
        """The time limit and the day of the deadline the receipt states, as the suggestion implies (`workflow`)."""
        nature = Nature(suggestion.nature) if suggestion is not None and suggestion.nature else None
        expected = expected_deadline(self.session, kind, nature, self.now, str(self.tz))
        if expected is None:
            return None, None
        days, due = expected
        return days, self._day(due)

    # --- my petitions and progress -------------------------------------------------------------------------------

    def _my_petitions(self) -> str:
        petitions = (
            []
            if self.first_contact
            else petitions_of_citizen(self.session, self.citizen, limit=MY_PETITIONS_LIMIT)
        )
        if not petitions:
            return texts.NO_PETITIONS
        lines = [
            texts.petition_line(
                index,
                p.number,
                p.title,
                p.state.label,
                p.light.label if p.light and p.closed_at is None else None,
                self._day(p.deadline) if p.deadline and p.closed_at is None else None,
            )
            for index, p in enumerate(petitions, start=1)
        ]
        return "\n".join(["您最近的诉求：", *lines, texts.MY_PETITIONS_FOOTER])

    def _own_petition(self, number: str) -> Petition | None:
        petition = petition_by_number(self.session, number)
        if petition is None or petition.citizen_id != self.citizen.id:
            return None
        return petition

    def _progress(self, number: str) -> str:
        petition = self._own_petition(number)
        if petition is None:
            return texts.not_found(number)
        steps = [
            texts.progress_step(f"{step.at.astimezone(self.tz):%m-%d %H:%M}", step.label, step.note, step.round > 1)
            for step in citizen_timeline(petition)[-PROGRESS_STEPS:]
        ]
        if petition.state == PetitionState.REJECTED and petition.inadmissible_code is not None:
            # The dispatcher's note is on the rejection step already: the reason and where to go, without it.
            steps.append(rejection_text(petition.inadmissible_code))
        open_ = petition.closed_at is None
        return texts.progress(
            number=petition.number,
            title=petition.title,
            state=petition.state.label,
            light=petition.light.label if petition.light and open_ else None,
            deadline=self._day(petition.deadline) if petition.deadline and open_ else None,
            steps=steps,
            awaiting_evaluation=petition.state == PetitionState.AWAITING_EVALUATION,
            handling_round=petition.handling_round,
        )

    def _day(self, instant: dt.datetime) -> str:
        # A deadline is the midnight that ends its last day; citizens are told that day.
        last = (instant - dt.timedelta(microseconds=1)).astimezone(self.tz)
        return f"{last.year}年{last.month}月{last.day}日"

    # --- rating ------------------------------------------------------------------------------------------------

    def _start_rating(self, number: str | None) -> str:
        if number is not None:
            petition = self._own_petition(number.upper())
            if petition is None:
                return texts.not_found(number.upper())
            if petition.state == PetitionState.UNRATED:
                return texts.rating_window_closed(petition.number)
            reason = self._why_not_rateable(petition)
            if reason:
                return texts.rating_refused(petition.number, reason)
            candidates = [petition]
        else:
            candidates = self._pending()
            if not candidates:
                return texts.NOTHING_TO_RATE
        self.flow, self.data = RATE, {"answers": {}, "path": [], "choices": [p.id for p in candidates]}
        if len(candidates) == 1:
            self.data["answers"]["pick"] = candidates[0].id
        self.step = self._next_step()
        return self._prompt()

    def _why_not_rateable(self, petition: Petition) -> str | None:
        if petition.state == PetitionState.AWAITING_EVALUATION:
            return None
        rated = self.session.scalar(
            select(Evaluation.id).where(
                Evaluation.petition_id == petition.id, Evaluation.handling_round == petition.handling_round
            )
        )
        if rated:
            return "您已评价过本轮办理结果。"
        return f"诉求当前状态为“{petition.state.label}”，答复送达后才能评价。"

    def _rated_petition(self) -> Petition:
        petition = self.session.get(Petition, self.data["answers"]["pick"])
        if petition is None:
            raise LookupError("the petition being rated no longer exists")
        return petition

    def _ask_rate_pick(self) -> str:
        petitions = [self.session.get(Petition, pid) for pid in self.data["choices"]]
        return texts.pick_petition(
            [f"{i}. {p.number} {p.title}" for i, p in enumerate(petitions, start=1) if p is not None]
        )

    def _answer_rate_pick(self, said: Said) -> Outcome:
        choices = self.data["choices"]
        word = command_form(said.text or "")
        if word.isdigit() and 1 <= int(word) <= len(choices):
            return Done(choices[int(word) - 1])
        return Again(texts.bad_pick(len(choices)))

    def _ask_rate_satisfaction(self) -> str:
        petition = self._rated_petition()
        return texts.ask_satisfaction(petition.number, petition.title)

    def _answer_rate_satisfaction(self, said: Said) -> Outcome:
        answer = SATISFACTION_ANSWERS.get(command_form(said.text or ""))
        return Done(answer.value) if answer else Again(texts.BAD_SATISFACTION)

    def _ask_rate_resolution(self) -> str:
        return texts.ASK_RESOLUTION

    def _answer_rate_resolution(self, said: Said) -> Outcome:
        answer = RESOLUTION_ANSWERS.get(command_form(said.text or ""))
        return Done(answer.value) if answer else Again(texts.BAD_RESOLUTION)

    def _ask_rate_reason(self) -> str:
        return texts.ASK_REASON

    def _answer_rate_reason(self, said: Said) -> Outcome:
        text = (said.text or "").strip()
        word = command_form(text)
        if word in texts.SKIP_WORDS or word in texts.YES_WORDS:
            return Done("")
        if not text:
            return Again(texts.ASK_REASON)
        if len(text) > texts.MAX_REASON_LENGTH:
            return Again(texts.reason_too_long(len(text)))
        return Done(text, ack=texts.REASON_NOTED)

    def _ask_rate_confirm(self) -> str:
        answers = self.data["answers"]
        return texts.confirm_rating(
            Satisfaction(answers["satisfaction"]).label,
            Resolution(answers["resolution"]).label,
            answers.get("reason", ""),
        )

    def _answer_rate_confirm(self, said: Said) -> Outcome:
        text = (said.text or "").strip()
        answers = self.data["answers"]
        if command_form(text) not in texts.YES_WORDS:
            if _rating_passes(answers) or len(text) < MIN_CONTENT_LENGTH:
                return Again(self._ask_rate_confirm())
            # What is still wrong, typed instead of confirming: added to the citizen's opinion, not dropped.
            reason = "\n".join(part for part in (answers.get("reason", ""), text) if part)
            if len(reason) > texts.MAX_REASON_LENGTH:
                return Again(texts.reason_too_long(len(reason)))
            answers["reason"] = reason
            return Again(_join(texts.REASON_NOTED, self._ask_rate_confirm()))
        petition = self._rated_petition()
        try:
            perform(
                self.session,
                petition,
                "evaluate",
                actor=self.citizen,
                now=self.now,
                satisfaction=Satisfaction(answers["satisfaction"]),
                resolution=Resolution(answers["resolution"]),
                comment=answers.get("reason", ""),
            )
        except WorkflowError as refused:
            if petition.state == PetitionState.UNRATED:
                # The evaluation window closed while the citizen was answering.
                return End(texts.rating_window_closed(petition.number))
            return End(texts.rating_refused(petition.number, str(refused)))
        if petition.state == PetitionState.CLOSED:
            return End(texts.rated_closed(petition.number))
        if petition.state == PetitionState.ASSESSMENT:
            return End(texts.rated_assessment(petition.number))
        return End(texts.rated_second_handling(petition.number))

    # --- state --------------------------------------------------------------------------------------------------

    def _new_conversation(self) -> Conversation:
        # Written with the dialog's first state when the webhook commits: no flush before. A new citizen's is
        # written by the webhook with the citizen (it hangs on `citizen.conversation`).
        conversation = Conversation(citizen=self.citizen, flow=IDLE, step="", data={})
        if not self.first_contact:
            self.session.add(conversation)
        return conversation

    def _locked_conversation(self) -> Conversation:
        # Row lock (PostgreSQL): two messages of one citizen handled at once take turns on the dialog state.
        conversation = self.session.scalar(_LOCKED_CONVERSATION, {"citizen_id": self.citizen.id})
        if conversation is not None:
            return conversation
        # A citizen who has never chatted (first seen following the account). Should another message of theirs
        # create the row meanwhile, the commit fails on the unique key and the webhook handles this message again.
        return self._new_conversation()

    def _expire(self) -> str:
        """The notice that an unfinished report lapsed, once: found now, or already reset by the expiry job
        (`workflow.jobs.expire_conversations` leaves ``{"expired": True}`` in an idle dialog)."""
        expires_at = self.conversation.expires_at
        lapsed_now = self.flow != IDLE and expires_at is not None and self.now > expires_at
        reset_by_job = self.flow == IDLE and bool(self.data.get("expired"))
        if lapsed_now or reset_by_job:
            self._reset()
            return texts.expired(self.idle_minutes)
        return ""

    def _reset(self) -> None:
        self.flow, self.step, self.data = IDLE, "", {}

    def _finish(self, reply: str) -> str:
        """Store the dialog state and return the reply."""
        conversation = self.conversation
        conversation.flow, conversation.step, conversation.data = self.flow, self.step, _copy(self.data)
        conversation.updated_at = self.now
        conversation.expires_at = (
            None if self.flow == IDLE else self.now + dt.timedelta(minutes=self.idle_minutes)
        )
        return reply


def _rating_passes(answers: dict[str, Any]) -> bool:
    """Whether the rating being given closes the petition (the workflow's rule, `Evaluation.passed`)."""
    return rating_passes(Satisfaction(answers["satisfaction"]), Resolution(answers["resolution"]))


def _draft(stored: Any) -> dict[str, Any] | None:
    """The description being asked about, ``{"text", "screened"}`` (a dialog saved before drafts had a form holds the
    screened text itself)."""
    if stored is None:
        return None
    if isinstance(stored, str):
        return {"text": stored, "screened": True}
    return dict(stored)


def _category(suggestion: Suggestion | None) -> str | None:
    if suggestion is None or not suggestion.departments:
        return None
    return DeptType(suggestion.departments[0][0]).label


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    # JSON columns are not change-tracked in place: the row gets a fresh structure on every save.
    return copy.deepcopy(data)


def _join(*parts: str) -> str:
    return "\n".join(part for part in parts if part)
