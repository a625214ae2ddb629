"""Declarative base and the column types shared by every model (`utcnow` is the clock of `models.clock`)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, Enum, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, configure_mappers

from models.clock import utcnow as utcnow  # re-exported: older imports read the clock from here

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores aware datetimes as naive UTC, returns aware UTC datetimes on every backend.

    SQLite keeps no time zone, so the column type normalises on the way in and out; a naive datetime
    handed to it is a programming error and is refused.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


class LenientEnum(Enum):
    """SQLAlchemy's `Enum` for a `models.enums.LabelledEnum`, stored as a string (the member's name), that reads a
    stored value it does not know as the enum's `unknown` stand-in instead of raising: one bad row must not make
    every page, API list and export that reads it fail. Writing still takes only members (or the stand-in, which
    writes back what it read)."""

    cache_ok = True

    def _object_value_for_elem(self, elem: str) -> Any:
        try:
            return super()._object_value_for_elem(elem)
        except LookupError:
            if self.enum_class is None or not hasattr(self.enum_class, "unknown"):
                raise
            log.warning("unknown %s value %r read from the database", self.enum_class.__name__, elem)
            return self.enum_class.unknown(elem)


def enum_type(cls: type, length: int = 30) -> LenientEnum:
    """The column type of an enum column: a VARCHAR of `length` (no native enum, no CHECK constraint)."""
    return LenientEnum(cls, native_enum=False, length=length)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
        str: String(255),
    }


_Model = TypeVar("_Model", bound=Base)


def unevented(model: type[_Model], **values: Any) -> _Model:
    """A new, transient `model` with `values` written straight into its ``__dict__``: what ``model(**values)`` gives,
    without the constructor's attribute events (a tenth of the Python calls), for an object that is written by a
    Core INSERT built from its ``__dict__`` (the webhook's first contact). Reading and setting its attributes
    afterwards works as on any object (later sets are evented). A relationship given here has no history: before
    such an object joins a session, set it again through the attribute (`bot.webhook` does, see
    ``_evented_links``), or its foreign key is not filled in at the flush.
    """
    mapper = model.__mapper__
    if not mapper.configured:
        # The relationships' attributes exist once the mappers are configured (the first query or constructor does).
        configure_mappers()
    instance = mapper.class_manager.new_instance()
    instance.__dict__.update(values)
    return instance
