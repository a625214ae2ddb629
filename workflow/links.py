"""Linked duplicates (关联重复诉求): a dispatcher links a duplicate to an open petition of the same district (its
master) instead of dispatching it twice. One handling; every petitioner gets the reply and rates it.

The rules, each a transition of `workflow.engine` (so every change has its history row and its notices):

- `link` (待研判 or 市级平台待研判 → 已关联): by the platform that dispatches it in that state (the district's
  dispatcher, the city platform at the city), only to a petition of the same district whose reply is not sent yet
  (`effects.LINK_TARGET_STATES`), never to itself, never to a petition that is itself linked (link to its master),
  never for a petition that has duplicates of its own, so links are one level deep and there is no cycle. The
  duplicate loses its unit, clock and light (it closes with its master); its petitioner is told ('linked').
- `unlink` (已关联 → 待研判): a mistaken link, undone by the platform before the master's reply; or by the system
  when the master is closed without a reply (rejected).
- `linked_reply` (已关联 → 待评价, the system): when the master's reply is sent, each duplicate gets its own copy
  (`Reply.linked_from_id`), its petitioner the 'replied' message with the link to their own reply page, and the
  request to rate it, as the master's petitioner does.
- Rating: each petitioner rates their own petition (chat or reply page); each rating counts for its own petition in
  the resolution and satisfaction rates. The copy of the reply is not in the on-time rate (one handling, counted
  once on the master). An unsatisfied rating of a duplicate sends it to its own second handling, unlinked, the
  shared reply being its first round.

`link_duplicate` is what the edges call: a repeat of the same link (a double click) changes nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Petition, PetitionEvent
from models.enums import PetitionState
from workflow.actors import Actor
from workflow.engine import perform
from workflow.errors import LinkConflict


def link_duplicate(
    session: Session,
    petition: Petition,
    target: str,
    actor: Actor,
    now: dt.datetime,
    *,
    note: str = "",
    expected_state: PetitionState | str | None = None,
) -> PetitionEvent | None:
    """Link `petition` to the petition numbered `target` through the workflow; None (nothing written) when it is
    already linked to exactly that one, whatever state the caller saw (a double click). The caller commits.

    :raises UnknownPetition: no such number in the district (404).
    :raises InvalidInput: the petition itself, or no number (422).
    :raises LinkConflict: linked to another, or the target may not be a master (409).
    :raises TransitionRefused: the state or the actor does not allow it.
    :raises StateConflict: the petition is no longer in `expected_state`.
    """
    number = (target or "").strip().upper()
    master = petition.duplicate_of
    if petition.state == PetitionState.LINKED and master is not None:
        if master.number == number:
            return None
        raise LinkConflict(
            f"诉求 {petition.number} 已关联至 {master.number}，请先取消关联",
            action="link",
            state=petition.state.value,
        )
    return perform(
        session, petition, "link", actor, now, expected_state=expected_state, note=note, target=number
    )


def duplicates_of(session: Session, master: Petition) -> list[Petition]:
    """Every petition linked to `master`, waiting or already replied with it, oldest first (shown on its page)."""
    return list(
        session.scalars(select(Petition).where(Petition.duplicate_of_id == master.id).order_by(Petition.id))
    )
