"""The responsibility chain: which unit a petition goes to next, and which targets a dispatcher may pick; and the
units whose responsibility lists (职责任务清单) name the petition's matter.

民生: village/community first → township/street if it can't → district platform → functional department.
发展: district platform → responsible department. 执法: district platform names a lead unit and cooperating units.
District → city: the city platform receives it and assigns a city department.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier.places import locate
from models import Petition, Unit
from models.enums import DeptType, PetitionKind, UnitLevel

DISTRICT_HANDLING_LEVELS = (UnitLevel.COMMUNITY, UnitLevel.STREET, UnitLevel.DISTRICT_DEPARTMENT)
# Who may cooperate on a 执法 petition: the townships and the district's departments.
COOPERATING_LEVELS = (UnitLevel.STREET, UnitLevel.DISTRICT_DEPARTMENT)


def district_platform(session: Session, district_code: str) -> Unit:
    """The district's platform unit.

    :raises LookupError: when the district has no platform unit (the demo seed and managers create one).
    """
    unit = session.scalars(
        select(Unit).where(Unit.district_code == district_code, Unit.level == UnitLevel.DISTRICT_PLATFORM)
    ).first()
    if unit is None:
        raise LookupError(f"district {district_code} has no platform unit")
    return unit


def city_platform(session: Session) -> Unit:
    """The city platform unit (青诉即办).

    :raises LookupError: when it does not exist.
    """
    unit = session.scalars(select(Unit).where(Unit.level == UnitLevel.CITY_PLATFORM)).first()
    if unit is None:
        raise LookupError("the city platform unit does not exist")
    return unit


def department_for(session: Session, district_code: str | None, dept_type: DeptType) -> Unit | None:
    """The district's (or, with district_code None, the city's) department of `dept_type`."""
    level = UnitLevel.DISTRICT_DEPARTMENT if district_code else UnitLevel.CITY_DEPARTMENT
    return session.scalars(
        select(Unit).where(
            Unit.district_code == district_code,
            Unit.level == level,
            Unit.dept_type == dept_type,
            Unit.active.is_(True),
        )
    ).first()


def suggested_department(petition: Petition) -> str | None:
    """The classifier's first department type for `petition`, if it made a suggestion."""
    departments = (petition.suggestion or {}).get("departments") or []
    return departments[0].get("type") if departments else None


def unit_for_department(units: Iterable[Unit], dept_type: str | None) -> Unit | None:
    """Of the units a dispatcher may choose (`dispatch_targets`), the department of `dept_type`: the district's
    functional department, or the city's when the city platform dispatches (`department_for` in one query)."""
    if not dept_type:
        return None
    return next((u for u in units if u.dept_type is not None and u.dept_type.value == dept_type), None)


def escalated_to_platform(petition: Petition) -> bool:
    """Whether this handling round already went up the 民生 chain to the district platform."""
    for event in reversed(petition.events):
        if event.action == "escalate" and event.data.get("to_level") == UnitLevel.DISTRICT_PLATFORM:
            return True
        if event.action in ("evaluate", "assess") and event.data.get("new_round"):
            return False
    return False


def allowed_target_levels(petition: Petition, by_city: bool) -> tuple[UnitLevel, ...]:
    """The unit levels a dispatcher may assign this petition to, by kind and where it is in the chain."""
    if by_city:
        return (UnitLevel.CITY_DEPARTMENT,)
    if petition.kind == PetitionKind.LIVELIHOOD:
        if escalated_to_platform(petition):
            return (UnitLevel.DISTRICT_DEPARTMENT,)
        return (UnitLevel.COMMUNITY, UnitLevel.STREET, UnitLevel.DISTRICT_DEPARTMENT)
    if petition.kind == PetitionKind.DEVELOPMENT:
        return (UnitLevel.DISTRICT_DEPARTMENT,)
    return (UnitLevel.STREET, UnitLevel.DISTRICT_DEPARTMENT)


def dispatch_targets(
    session: Session, petition: Petition, by_city: bool, candidates: Sequence[Unit] | None = None
) -> list[Unit]:
    """Units a dispatcher may pick for `petition` (the admin site lists them), by level and name.

    A list page that shows many petitions' forms passes `candidates`: active units read once for the whole page,
    ordered by level, name and id; the targets are then picked from them without a query.
    """
    levels = allowed_target_levels(petition, by_city)
    district = None if by_city else petition.district_code
    if candidates is not None:
        return [u for u in candidates if u.active and u.level in levels and u.district_code == district]
    query = select(Unit).where(Unit.level.in_(levels), Unit.active.is_(True))
    query = query.where(Unit.district_code.is_(None) if by_city else Unit.district_code == district)
    return list(session.scalars(query.order_by(Unit.level, Unit.name, Unit.id)))


def next_up(session: Session, unit: Unit) -> Unit:
    """Where a unit escalates to: a community to its street, a street to the district platform.

    :raises LookupError: for units that do not escalate (departments return the petition instead).
    """
    if unit.level == UnitLevel.COMMUNITY:
        if unit.parent is None:
            raise LookupError(f"community {unit.name} has no street above it")
        return unit.parent
    if unit.level == UnitLevel.STREET and unit.district_code:
        return district_platform(session, unit.district_code)
    raise LookupError(f"{unit.level.label}「{unit.name}」不能上报，请退回平台")


def suggested_unit(petition: Petition, targets: Sequence[Unit]) -> Unit | None:
    """The unit a dispatcher's form offers first for `petition`, among the `targets` it may pick.

    民生: the chain starts at the village/community, then the township/street, so the community or street of the
    place the petition names (its content and its address, looked up in the gazetteer of Qingdao's streets and
    in the district's own community units) comes first. Otherwise, or when no place is known, the district's
    department of the type the dispatcher or the classifier chose.
    """
    levels = {u.level for u in targets}
    if petition.kind == PetitionKind.LIVELIHOOD and levels & {UnitLevel.COMMUNITY, UnitLevel.STREET}:
        communities = [u.name for u in targets if u.level == UnitLevel.COMMUNITY]
        text = f"{petition.location or ''} {petition.content}"
        place = locate(text, petition.district_code, communities)
        if place is not None:
            for name, level in ((place.community, UnitLevel.COMMUNITY), (place.street, UnitLevel.STREET)):
                unit = next((u for u in targets if name and u.level == level and u.name == name), None)
                if unit is not None:
                    return unit
    dept = petition.dept_type.value if petition.dept_type else suggested_department(petition)
    return unit_for_department(targets, dept)


# Words shorter than this say too little to tie a petition to a duty (单字 such as 楼, 灯).
MIN_TERM_LENGTH = 2


@dataclass(frozen=True)
class DutyMatch:
    """A unit whose responsibility list names words of the petition: the matching duties with the words each names,
    and the unit's place in the classifier's suggestion (0 for its first department type; None if not suggested)."""

    unit: Unit
    duties: tuple[tuple[str, tuple[str, ...]], ...]
    terms: tuple[str, ...]
    suggestion_rank: int | None


def petition_terms(petition: Petition) -> list[str]:
    """The petition's words to look for in responsibility lists: the terms behind the classifier's suggestion, then
    the words of its text (jieba, stop words dropped), each once, at least two characters."""
    from classifier.text import normalize, tokenize

    words = [normalize(t) for t in (petition.suggestion or {}).get("terms") or []]
    words += tokenize(petition.content)
    return list(dict.fromkeys(w for w in words if len(w) >= MIN_TERM_LENGTH))


@lru_cache(maxsize=4096)
def _duty_words(line: str) -> tuple[str, tuple[str, ...]]:
    """A duty line normalised, and its words of at least two characters (lists change rarely: cached)."""
    from classifier.text import normalize, tokenize

    return normalize(line), tuple(dict.fromkeys(w for w in tokenize(line) if len(w) >= MIN_TERM_LENGTH))


def responsibility_matches(petition: Petition, units: Sequence[Unit], limit: int = 5) -> list[DutyMatch]:
    """The units among `units` (say, the dispatch targets) whose responsibility lists name the petition's matter,
    best first: by how many words they share with it, then by the classifier's order of department types, then by
    name. A duty matches by a word of the petition that it contains, or a word of its own that the petition's text
    contains (so 烧烤摊 finds 露天烧烤). The work rules make these lists "诉求分办的依据"; the dispatcher sees them
    beside the suggestion."""
    from classifier.text import normalize

    terms = petition_terms(petition)
    content = normalize(petition.content)
    suggested = [d.get("type") for d in (petition.suggestion or {}).get("departments") or []]
    matches: list[DutyMatch] = []
    for unit in units:
        duties: list[tuple[str, tuple[str, ...]]] = []
        for line in unit.responsibilities.splitlines():
            if not line.strip():
                continue
            text, words = _duty_words(line.strip())
            found = tuple(dict.fromkeys([*(t for t in terms if t in text), *(w for w in words if w in content)]))
            if found:
                duties.append((line.strip(), found))
        if not duties:
            continue
        named = tuple(dict.fromkeys(t for _line, found in duties for t in found))
        dept = unit.dept_type.value if unit.dept_type is not None else None
        rank = suggested.index(dept) if dept in suggested else None
        matches.append(DutyMatch(unit, tuple(duties), named, rank))
    matches.sort(
        key=lambda m: (-len(m.terms), m.suggestion_rank if m.suggestion_rank is not None else len(suggested), m.unit.name)
    )
    return matches[:limit]
