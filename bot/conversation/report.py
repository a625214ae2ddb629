"""The report flow: a citizen reports a petition step by step (who, what, where, a phone), then confirms it."""

from __future__ import annotations

from typing import Any

from bot import texts
from bot.conversation.steps import (
    MIN_CONTENT_LENGTH,
    REPORT,
    Again,
    Done,
    End,
    Outcome,
    Said,
    _join,
    command_form,
)
from bot.validators import (
    DISTRICT_NAMES,
    Whereabouts,
    locate_address,
    mask_mobile,
    normalize_credit_code,
    normalize_mobile,
    not_words,
)
from classifier.suggest import Suggestion
from models import District
from models.enums import (
    CitizenKind,
    DeptType,
    InadmissibleCode,
    Nature,
    PetitionKind,
)
from workflow.inadmissible import ADVICE
from workflow.intake import expected_deadline, kind_for, submit_petition

REPORT_STEPS = ("kind", "enterprise_name", "credit_code", "content", "location", "phone", "confirm")
ENTERPRISE_STEPS = frozenset({"enterprise_name", "credit_code"})
MIN_ADDRESS_LENGTH = 4
# Petition.location holds 300 characters.
# Petition.location holds 300 characters.
MAX_ADDRESS_LENGTH = 300
# Progress shows the latest steps only, so that the answer fits in one WeChat message.


class ReportFlow:
    """The steps of 我要反映 (a mixin of `bot.conversation.Dialog`)."""

    def _applies_report(self, step: str) -> bool:
        return (
            step not in ENTERPRISE_STEPS or self.data["answers"].get("kind") == CitizenKind.ENTERPRISE.value
        )

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
            images=sum(
                1 for item in self.data.get("attachments", []) if item.get("kind", "image") == "image"
            ),
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
        return days, self._deadline(due)


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
