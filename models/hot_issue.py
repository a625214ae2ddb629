"""Hot issues and possible duplicates: what the scheduler's similarity jobs found, for the pages to read.

Derived data, written only by `workflow.hot_issues` (the clusters of the last days' petitions, replaced whole by
each run for its window) and `workflow.duplicates` (the open petitions similar to each new one). The dashboard, the
API, the queue and the petition page read these rows instead of comparing texts on every request.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class HotIssue(Base):
    """One cluster of petitions created in the last `days` days that say the same thing about the same place."""

    __tablename__ = "hot_issue"
    __table_args__ = (Index("ix_hot_issue_days_rank", "days", "rank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The window: petitions created in [computed_at - days, computed_at).
    days: Mapped[int]
    computed_at: Mapped[dt.datetime]
    # Largest first (then the most recent), 1-based.
    rank: Mapped[int]
    # The title of the cluster's most central petition, and the words its petitions share most.
    title: Mapped[str] = mapped_column(String(60))
    terms: Mapped[list[Any]]
    size: Mapped[int]
    # Petitions of the window before (same length) like this cluster's (its centroid, the same place and type).
    previous: Mapped[int]
    # Petitions per local day of the window, oldest day first.
    daily: Mapped[list[Any]]
    districts: Mapped[list[Any]]
    # The department type's value (urban_mgmt) and the street, when all its petitions share one.
    dept_type: Mapped[str | None] = mapped_column(String(40))
    street: Mapped[str | None] = mapped_column(String(60))
    first_at: Mapped[dt.datetime]
    last_at: Mapped[dt.datetime]


class HotIssuePetition(Base):
    """A petition of a hot issue (its district copied for the district filter)."""

    __tablename__ = "hot_issue_petition"
    __table_args__ = (Index("ix_hot_issue_petition_district", "district_code", "hot_issue_id"),)

    hot_issue_id: Mapped[int] = mapped_column(
        ForeignKey("hot_issue.id", ondelete="CASCADE"), primary_key=True
    )
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), primary_key=True)
    district_code: Mapped[str] = mapped_column(String(20))


class DuplicateCandidate(Base):
    """An open petition that a new petition looks like a duplicate of (可能重复), with their similarity."""

    __tablename__ = "duplicate_candidate"

    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("petition.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    score: Mapped[float]


class DuplicateCheck(Base):
    """That a new petition was compared with the open ones (whether or not any was similar), and when."""

    __tablename__ = "duplicate_check"

    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), primary_key=True)
    checked_at: Mapped[dt.datetime]
