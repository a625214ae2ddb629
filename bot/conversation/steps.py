"""The dialog's shared machinery: what a step returns, the entry points, the idle state and the step loop.

A flow is a list of steps (`DialogBase.FLOWS`); each step has a prompt (`_ask_<flow>_<step>`) and an answer method
(`_answer_<flow>_<step>`) that returns one of three outcomes: `Done` (store the answer, go on to the next step that
is still unanswered and applies, see ``_applies_<flow>``), `Again` (stay and say why) or `End` (leave the flow).
"上一步" pops the last answered step and asks it again; "取消" leaves the flow; "帮助" explains the current step. The
flows themselves are mixins beside this module (`report`, `petitions`, `rating`).
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
    normalize,
    not_words,
)
from classifier.screening import Screening
from classifier.suggest import Suggestion
from models import Citizen, Conversation, Petition
from models.base import unevented
from models.enums import (
    Resolution,
    Satisfaction,
)
from workflow.deadlines import deadline_text
from workflow.queries import (
    awaiting_evaluation_of,
)

IDLE = "idle"
REPORT = "report"
RATE = "rate"
# A message that may be a new problem or a question about an existing petition: the dialog asks which.
# A message that may be a new problem or a question about an existing petition: the dialog asks which.
CHOOSE = "choose"

NUMBER_RE = re.compile(r"[A-Za-z]{2}\d{12}")
RATE_RE = re.compile(r"(?:评价|我要评价)\s*([A-Za-z]{2}\d{12})?")

# A text shorter than this is not a problem description (nor a reason for being unhappy).
MIN_CONTENT_LENGTH = 4

# The words of a rating; a bare one typed while a reply waits for its rating starts the rating.
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


class DialogBase:
    """One citizen's conversation with one district account, for the length of one inbound message.

    Changes the session (conversation, citizen, petitions); the webhook commits.
    """

    # flow → its steps, filled in by the flows (`bot.conversation.Dialog`).
    FLOWS: dict[str, tuple[str, ...]] = {}

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
        reply_link: Callable[[Petition], str | None] | None = None,
    ) -> None:
        """`first_contact`: the citizen was created by this very message, so they have no conversation and no
        petitions yet and nobody else can be changing them (their row is not written yet: the webhook writes it
        with the new conversation, see `Inbound.new_citizen`). `reply_link`: the address of a petition's reply
        page (`bot.reply_page`), shown with its reply."""
        self.reply_link = reply_link
        # A voice message's recording, kept with the report it speaks to (`on_voice`).
        self.voice_media_id: str | None = None
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

    def on_voice(self, recognised: str, media_id: str) -> str:
        """Answer recognised speech as typed text; the recording is attached to the report it belongs to (the one in
        progress after this message), so staff can listen to what the citizen said."""
        self.voice_media_id = media_id or None
        return self.on_text(recognised)

    def on_image(self, media_id: str, url: str) -> str:
        """Attach an image to the petition being written."""
        expired = self._expire()
        if self.flow != REPORT:
            return self._finish(_join(expired, texts.IMAGE_WITHOUT_REPORT))
        kept = self.data.setdefault("attachments", [])
        images = sum(1 for item in kept if item.get("kind", "image") == "image")
        if images >= texts.MAX_IMAGES:
            return self._finish(_join(texts.too_many_images(texts.MAX_IMAGES), self._prompt()))
        kept.append({"kind": "image", "media_id": media_id, "url": url})
        return self._finish(_join(texts.image_added(images + 1), self._prompt()))

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
        return self.FLOWS[self.flow]

    def _applies(self, step: str) -> bool:
        """Whether `step` of the current flow is asked, given the answers so far (``_applies_<flow>``, if any)."""
        condition = getattr(self, f"_applies_{self.flow}", None)
        return True if condition is None else bool(condition(step))

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

    # --- state --------------------------------------------------------------------------------------------------

    def _new_conversation(self) -> Conversation:
        # Written with the dialog's first state when the webhook commits: no flush before. A new citizen's is
        # written by the webhook with the citizen (it hangs on `citizen.conversation`).
        if self.first_contact:
            # Both written by the webhook from their __dict__ (`unevented`): no relationship events.
            conversation = unevented(Conversation, citizen=self.citizen, flow=IDLE, step="", data={})
            self.citizen.__dict__["conversation"] = conversation
            return conversation
        conversation = Conversation(citizen=self.citizen, flow=IDLE, step="", data={})
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

    def _deadline(self, instant: dt.datetime) -> str:
        """A deadline as the citizen is told it, the same words everywhere (`workflow.deadlines.deadline_text`)."""
        return deadline_text(instant, str(self.tz), now=self.now)

    def _finish(self, reply: str) -> str:
        """Store the dialog state and return the reply."""
        if self.voice_media_id is not None and self.flow == REPORT:
            kept = self.data.setdefault("attachments", [])
            if all(item.get("media_id") != self.voice_media_id for item in kept):
                kept.append({"kind": "voice", "media_id": self.voice_media_id, "url": ""})
        self.voice_media_id = None
        conversation = self.conversation
        # A first contact's conversation is new, and nothing else holds its data.
        data = self.data if self.first_contact else _copy(self.data)
        conversation.flow, conversation.step, conversation.data = self.flow, self.step, data
        conversation.updated_at = self.now
        conversation.expires_at = (
            None if self.flow == IDLE else self.now + dt.timedelta(minutes=self.idle_minutes)
        )
        return reply


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    # JSON columns are not change-tracked in place: the row gets a fresh structure on every save.
    return copy.deepcopy(data)


def _join(*parts: str) -> str:
    return "\n".join(part for part in parts if part)
