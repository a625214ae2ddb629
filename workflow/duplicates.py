"""可能重复: the open petitions a new (not yet dispatched) petition looks like a duplicate of.

An open petition (`similarity.OPEN_STATES`, created in the `WITHIN_DAYS` days before) is a candidate for a new one
when it is of the same district, older, its text is at least `similarity.DUPLICATE_THRESHOLD` similar, their places
agree, and they are at the same place or of the same department type (`workflow.similarity`). At most `KEPT` per
petition, the most similar first.

The scheduler's `duplicate_candidates` job (`check_new_petitions`) compares each new petition once, when it has not
been compared yet (`models.DuplicateCheck`), and stores what it found (`models.DuplicateCandidate`); the queue and
the petition page read the stored candidates of a whole page in one statement (`candidates_for`), leaving out those
closed since.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from flask import Flask
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from models import DuplicateCandidate, DuplicateCheck, Petition
from models.db import session_scope
from models.enums import PetitionState
from workflow import similarity
from workflow.similarity import DUPLICATE_THRESHOLD, OPEN_STATES, Places

NEW_STATES = (PetitionState.PENDING_DISPATCH, PetitionState.AT_CITY)
WITHIN_DAYS = 30
KEPT = 5
# New petitions compared per run (per transaction): a backlog is worked off over a few runs.
BATCH = 500


def check_petitions(session: Session, new_ids: Sequence[int], now: dt.datetime) -> int:
    """Compare the petitions `new_ids` with the open petitions of their districts, store their candidates (replacing
    any stored before) and mark them checked at `now`. Returns how many candidates were stored."""
    if not new_ids:
        return 0
    new = similarity.read_texts(session, similarity.texts_where(Petition.id.in_(new_ids)))
    districts = sorted({p.district_code for p in new})
    open_ = similarity.read_texts(
        session,
        similarity.texts_where(
            Petition.district_code.in_(districts),
            Petition.state.in_(OPEN_STATES),
            Petition.created_at >= now - dt.timedelta(days=WITHIN_DAYS),
            Petition.id.not_in(new_ids),
        ),
    )
    texts = new + open_
    compared = similarity.compare(session, texts)
    places = Places.of(compared)
    found: dict[int, list[tuple[float, int]]] = {p.id: [] for p in new}
    for district in districts:
        idx = np.array([i for i, p in enumerate(texts) if p.district_code == district])
        new_idx = idx[idx < len(new)]
        for i, j, score in similarity.similar_pairs(compared, new_idx, DUPLICATE_THRESHOLD, against=idx):
            same_dept = np.array(
                [
                    texts[a].dept_type is not None and texts[a].dept_type == texts[b].dept_type
                    for a, b in zip(i, j, strict=True)
                ],
                dtype=bool,
            )
            keep = places.agree(i, j) & (places.same(i, j) | same_dept)
            for a, b, s in zip(i[keep], j[keep], score[keep], strict=True):
                petition, candidate = texts[a], texts[b]
                older = (candidate.created_at, candidate.id) < (petition.created_at, petition.id)
                if older and candidate.state in OPEN_STATES:
                    found[petition.id].append((float(s), candidate.id))
    session.execute(DuplicateCandidate.__table__.delete().where(DuplicateCandidate.petition_id.in_(new_ids)))
    session.execute(DuplicateCheck.__table__.delete().where(DuplicateCheck.petition_id.in_(new_ids)))
    rows = [
        {"petition_id": petition_id, "candidate_id": candidate_id, "score": round(score, 4)}
        for petition_id, pairs in found.items()
        for score, candidate_id in sorted(pairs, reverse=True)[:KEPT]
    ]
    if rows:
        session.execute(insert(DuplicateCandidate), rows)
    session.execute(insert(DuplicateCheck), [{"petition_id": p.id, "checked_at": now} for p in new])
    return len(rows)


@dataclass(frozen=True)
class DuplicatesReport:
    """What one run did: petitions compared, candidates stored."""

    checked: int
    candidates: int


def unchecked(session: Session, limit: int) -> list[int]:
    """New petitions not compared yet, oldest first."""
    return list(
        session.scalars(
            select(Petition.id)
            .outerjoin(DuplicateCheck, DuplicateCheck.petition_id == Petition.id)
            .where(Petition.state.in_(NEW_STATES), DuplicateCheck.petition_id.is_(None))
            .order_by(Petition.created_at, Petition.id)
            .limit(limit)
        )
    )


def check_new_petitions(app: Flask, now: dt.datetime) -> DuplicatesReport:
    """The scheduler's job: compare every new petition not compared yet, `BATCH` a transaction."""
    checked = candidates = 0
    while True:
        with session_scope(app) as session:
            ids = unchecked(session, BATCH)
            candidates += check_petitions(session, ids, now)
        checked += len(ids)
        if len(ids) < BATCH:
            return DuplicatesReport(checked, candidates)


@dataclass(frozen=True)
class Candidate:
    """An open petition a new one may duplicate, for the pages."""

    number: str
    title: str
    state: PetitionState
    created_at: dt.datetime
    score: float


def candidates_for(session: Session, petition_ids: Sequence[int]) -> dict[int, list[Candidate]]:
    """The stored candidates of each of `petition_ids` that are still open, most similar first: one statement."""
    found: dict[int, list[Candidate]] = {}
    if not petition_ids:
        return found
    rows = session.execute(
        select(
            DuplicateCandidate.petition_id,
            Petition.number,
            Petition.title,
            Petition.state,
            Petition.created_at,
            DuplicateCandidate.score,
        )
        .join(Petition, Petition.id == DuplicateCandidate.candidate_id)
        .where(DuplicateCandidate.petition_id.in_(petition_ids), Petition.state.in_(OPEN_STATES))
        .order_by(DuplicateCandidate.petition_id, DuplicateCandidate.score.desc(), Petition.id)
    )
    for petition_id, *candidate in rows:
        found.setdefault(petition_id, []).append(Candidate(*candidate))
    return found
