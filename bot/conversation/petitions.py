"""我的诉求: the citizen's latest petitions, and one petition's progress with its whole reply."""

from __future__ import annotations

from bot import texts
from models import Petition
from models.enums import (
    PetitionState,
)
from workflow.inadmissible import rejection_text
from workflow.messages import reply_as_text
from workflow.queries import (
    citizen_timeline,
    latest_sent_reply,
    petition_by_number,
    petitions_of_citizen,
)

# Progress shows the latest steps only, so that the answer fits in one WeChat message.
PROGRESS_STEPS = 12
MY_PETITIONS_LIMIT = 5


class PetitionsFlow:
    """我的诉求 and a petition's progress (a mixin of `bot.conversation.Dialog`)."""

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
                self._deadline(p.deadline) if p.deadline and p.closed_at is None else None,
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
            texts.progress_step(
                f"{step.at.astimezone(self.tz):%m-%d %H:%M}", step.label, step.note, step.round > 1
            )
            for step in citizen_timeline(petition)[-PROGRESS_STEPS:]
        ]
        if petition.state == PetitionState.REJECTED and petition.inadmissible_code is not None:
            # The dispatcher's note is on the rejection step already: the reason and where to go, without it.
            steps.append(rejection_text(petition.inadmissible_code))
        open_ = petition.closed_at is None
        progress = texts.progress(
            number=petition.number,
            title=petition.title,
            state=petition.state.label,
            light=petition.light.label if petition.light and open_ else None,
            deadline=self._deadline(petition.deadline) if petition.deadline and open_ else None,
            steps=steps,
            awaiting_evaluation=petition.state == PetitionState.AWAITING_EVALUATION,
            handling_round=petition.handling_round,
        )
        reply = latest_sent_reply(self.session, petition)
        if reply is None:
            return progress
        link = self.reply_link(petition) if self.reply_link is not None else None
        return texts.with_reply(progress, reply_as_text(petition.number, reply), link)
