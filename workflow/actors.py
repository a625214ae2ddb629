"""Who acts on a petition: staff users, the petitioner, or the system (scheduled jobs)."""

from __future__ import annotations

from dataclasses import dataclass

from models import Citizen, Petition, User
from models.enums import Channel, Role


@dataclass(frozen=True)
class SystemActor:
    """A scheduled job or an automatic rule; shown as 系统 in the timeline."""

    name: str = "系统"


SYSTEM = SystemActor()

Actor = User | Citizen | SystemActor


def actor_label(actor: Actor) -> str:
    """How the actor appears in a petition's timeline."""
    if isinstance(actor, User):
        return actor.display_name
    if isinstance(actor, Citizen):
        return "诉求人"
    return actor.name


def is_district_dispatcher(actor: Actor, petition: Petition) -> bool:
    return (
        isinstance(actor, User)
        and actor.active
        and actor.role == Role.DISPATCHER
        and actor.district_code == petition.district_code
    )


def is_city_dispatcher(actor: Actor, petition: Petition) -> bool:
    return isinstance(actor, User) and actor.active and actor.role == Role.CITY_DISPATCHER


def is_unit_handler(actor: Actor, petition: Petition) -> bool:
    return (
        isinstance(actor, User)
        and actor.active
        and actor.role == Role.HANDLER
        and actor.unit_id is not None
        and actor.unit_id == petition.current_unit_id
    )


def is_unit_reviewer(actor: Actor, petition: Petition) -> bool:
    """The current unit's reviewer (科室负责人); or one of its handlers, only where a manager has allowed the unit's
    handlers to approve their own replies (`Unit.handler_self_review`)."""
    if not (isinstance(actor, User) and actor.active and actor.unit_id is not None):
        return False
    if actor.unit_id != petition.current_unit_id:
        return False
    if actor.role == Role.UNIT_REVIEWER:
        return True
    unit = petition.current_unit
    return actor.role == Role.HANDLER and unit is not None and unit.handler_self_review


def is_hotline_for(actor: Actor, petition: Petition) -> bool:
    """The 12345 hotline, for a petition it filed: it speaks for its petitioner (who has no WeChat)."""
    return (
        isinstance(actor, User)
        and actor.active
        and actor.role == Role.HOTLINE
        and petition.channel == Channel.HOTLINE
    )


def is_petitioner(actor: Actor, petition: Petition) -> bool:
    return isinstance(actor, Citizen) and petition.citizen_id is not None and actor.id == petition.citizen_id


def is_platform_for_unit(actor: Actor, petition: Petition) -> bool:
    """The platform that supervises the petition's current unit: the city platform for city departments."""
    unit = petition.current_unit
    if unit is not None and unit.is_city_level:
        return is_city_dispatcher(actor, petition)
    return is_district_dispatcher(actor, petition)
