"""The rating flow: the citizen rates a reply (satisfaction, resolution, and what is still wrong when unhappy)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot import texts
from bot.conversation.steps import (
    MIN_CONTENT_LENGTH,
    RATE,
    RESOLUTION_ANSWERS,
    SATISFACTION_ANSWERS,
    Again,
    Done,
    End,
    Outcome,
    Said,
    _join,
    command_form,
)
from models import Evaluation, Petition
from models.enums import (
    PetitionState,
    Resolution,
    Satisfaction,
)
from models.handling import rating_passes
from workflow.engine import perform
from workflow.errors import WorkflowError

RATE_STEPS = ("pick", "satisfaction", "resolution", "reason", "confirm")


class RatingFlow:
    """The steps of rating a reply (a mixin of `bot.conversation.Dialog`)."""

    def _applies_rate(self, step: str) -> bool:
        return step != "reason" or not _rating_passes(self.data["answers"])

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


def _rating_passes(answers: dict[str, Any]) -> bool:
    """Whether the rating being given closes the petition (the workflow's rule, `Evaluation.passed`)."""
    return rating_passes(Satisfaction(answers["satisfaction"]), Resolution(answers["resolution"]))
