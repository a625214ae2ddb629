"""Daily tallies: what the dashboard's rates, 未评价 and suggestion acceptance count, per local day.

Derived data, kept by `workflow.tallies` from the same queries that count them live (`workflow.rates`,
`classifier.stats`): a year's rates are then the sum of a few hundred rows a day instead of a year of ratings and
replies. Each month is also rolled up (`whole_month`, dated the first of the month: the sum of its daily rows),
so a long period reads a row per month and group for its whole months. Nothing else writes them;
`qingsu tallies rebuild` recomputes them from scratch.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, enum_type
from models.enums import DeptType, PetitionKind


class RateTally(Base):
    """One local day's counts (Asia/Shanghai) for a district, unit and petition kind.

    The ratings (latest of their petition) count for the unit that was rated, the replies for the unit that
    replied, the petitions closed unrated for no unit (NULL).
    """

    __tablename__ = "rate_tally"
    __table_args__ = (Index("ix_rate_tally_whole_month_day", "whole_month", "day", "district_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date]
    whole_month: Mapped[bool] = mapped_column(default=False, server_default=false())
    district_code: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int | None]
    kind: Mapped[PetitionKind] = mapped_column(enum_type(PetitionKind))
    rated: Mapped[int] = mapped_column(default=0)
    resolved: Mapped[int] = mapped_column(default=0)
    satisfied: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)
    on_time: Mapped[int] = mapped_column(default=0)
    unrated: Mapped[int] = mapped_column(default=0)


class AcceptanceTally(Base):
    """One local day's petitions (by creation) a dispatcher decided on, per district and suggested department."""

    __tablename__ = "acceptance_tally"
    __table_args__ = (Index("ix_acceptance_tally_whole_month_day", "whole_month", "day", "district_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date]
    whole_month: Mapped[bool] = mapped_column(default=False, server_default=false())
    district_code: Mapped[str] = mapped_column(String(20))
    department: Mapped[str] = mapped_column(String(40))
    decided: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)


class VolumeTally(Base):
    """One local day's petitions received (by creation) per district, kind and department type (NULL: not yet
    classified by a dispatcher): the dashboard's volume charts. Rolled up per month like `RateTally`."""

    __tablename__ = "volume_tally"
    __table_args__ = (Index("ix_volume_tally_whole_month_day", "whole_month", "day", "district_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date]
    whole_month: Mapped[bool] = mapped_column(default=False, server_default=false())
    district_code: Mapped[str] = mapped_column(String(20))
    kind: Mapped[PetitionKind] = mapped_column(enum_type(PetitionKind))
    dept_type: Mapped[DeptType | None] = mapped_column(enum_type(DeptType))
    petitions: Mapped[int] = mapped_column(default=0)
