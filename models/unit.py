"""Handling units along the responsibility chain: communities, streets, departments and the platforms."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, enum_type
from models.enums import DeptType, UnitLevel


class Unit(Base):
    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    level: Mapped[UnitLevel] = mapped_column(enum_type(UnitLevel))
    dept_type: Mapped[DeptType | None] = mapped_column(enum_type(DeptType))
    # None for city-level units.
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.code"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    # The unit's responsibility list (职责任务清单), one duty a line.
    responsibilities: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str | None] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(default=True)
    # The work rules have a unit's reply approved by its reviewer (科室负责人); a unit with no reviewer of its own may
    # let its handlers approve their own replies, but only when a manager says so here.
    handler_self_review: Mapped[bool] = mapped_column(default=False, server_default=false())

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")

    @property
    def is_city_level(self) -> bool:
        return self.level in (UnitLevel.CITY_DEPARTMENT, UnitLevel.CITY_PLATFORM)

    @property
    def is_platform(self) -> bool:
        return self.level in (UnitLevel.DISTRICT_PLATFORM, UnitLevel.CITY_PLATFORM)

    def __repr__(self) -> str:
        return f"<Unit {self.id} {self.name} {self.level}>"
