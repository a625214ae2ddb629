"""What generated petitions are about and who sends them: district, kind, department, nature, complexity, channel,
petitioner and text, drawn with the shares a year of Qingdao's petitions has."""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import json
import random
from collections.abc import Sequence

from models.enums import Channel, CitizenKind, Complexity, DeptType, InadmissibleCode, Nature, PetitionKind
from qingsu.volume import texts
from qingsu.volume.lifecycle import Spec
from qingsu.volume.world import World
from workflow.intake import make_title

# Shares of the petitions by district (roughly by population), kind and department type.
DISTRICT_SHARES = {
    "shinan": 9,
    "shibei": 14,
    "licang": 9,
    "laoshan": 6,
    "huangdao": 20,
    "chengyang": 10,
    "jimo": 10,
    "jiaozhou": 8,
    "pingdu": 8,
    "laixi": 6,
}
KIND_SHARES = ((PetitionKind.LIVELIHOOD, 80), (PetitionKind.DEVELOPMENT, 12), (PetitionKind.ENFORCEMENT, 8))
LIVELIHOOD_DEPTS = {
    DeptType.HOUSING: 16,
    DeptType.URBAN_MGMT: 12,
    DeptType.ECOLOGY: 6,
    DeptType.TRANSPORT: 7,
    DeptType.EDUCATION: 6,
    DeptType.HRSS: 7,
    DeptType.HEALTH: 5,
    DeptType.MARKET: 6,
    DeptType.POLICE: 4,
    DeptType.CIVIL: 4,
    DeptType.NATURAL_RES: 3,
    DeptType.AGRI: 3,
    DeptType.WATER: 4,
    DeptType.COMMERCE: 2,
    DeptType.CULTURE_TOURISM: 2,
    DeptType.MEDICAL_INS: 3,
    DeptType.TAX: 1,
    DeptType.APPROVAL: 1,
    DeptType.INDUSTRY: 1,
    DeptType.HEATING: 4,
    DeptType.UTILITIES: 5,
}
DEVELOPMENT_DEPTS = {
    DeptType.APPROVAL: 15,
    DeptType.TAX: 12,
    DeptType.INDUSTRY: 15,
    DeptType.MARKET: 10,
    DeptType.COMMERCE: 10,
    DeptType.HRSS: 8,
    DeptType.NATURAL_RES: 6,
    DeptType.HOUSING: 4,
    DeptType.URBAN_MGMT: 3,
    DeptType.ECOLOGY: 3,
    DeptType.TRANSPORT: 3,
    DeptType.UTILITIES: 3,
    DeptType.WATER: 2,
    DeptType.AGRI: 2,
    DeptType.EDUCATION: 1,
    DeptType.HEALTH: 1,
    DeptType.CIVIL: 1,
    DeptType.CULTURE_TOURISM: 1,
    DeptType.MEDICAL_INS: 1,
    DeptType.POLICE: 1,
    DeptType.HEATING: 1,
}
ENFORCEMENT_DEPTS = {dept: 1 for dept in texts.ENFORCEMENT_TOPICS}
# 供热 petitions come in the heating season (15 November to 31 March in Qingdao).
HEATING_MONTHS = frozenset({11, 12, 1, 2, 3})
REJECT_SHARE = 0.035
VIA_CITY_SHARE = 0.03
REPEAT_PETITIONER_SHARE = 0.3
POOL_SIZE = 20_000


class _Weighted:
    """A weighted choice by one random number and a bisection."""

    def __init__(self, weights: dict | Sequence[tuple]) -> None:  # type: ignore[type-arg]
        pairs = list(weights.items()) if isinstance(weights, dict) else list(weights)
        self.items = [item for item, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))

    def __call__(self, rng: random.Random) -> object:
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


class SpecDrawer:
    """Draws `Spec`s; remembers recent petitioners per district so some petition again."""

    def __init__(self, world: World, bank: texts.TextBank) -> None:
        self.world = world
        self.bank = bank
        codes = [code for code in world.districts]
        self.district = _Weighted([(code, DISTRICT_SHARES.get(code, 8)) for code in codes])
        self.kind = _Weighted(KIND_SHARES)
        self.depts = {
            (PetitionKind.LIVELIHOOD, False): _Weighted(LIVELIHOOD_DEPTS),
            (PetitionKind.LIVELIHOOD, True): _Weighted({**LIVELIHOOD_DEPTS, DeptType.HEATING: 16}),
            (PetitionKind.DEVELOPMENT, False): _Weighted(DEVELOPMENT_DEPTS),
            (PetitionKind.DEVELOPMENT, True): _Weighted(DEVELOPMENT_DEPTS),
            (PetitionKind.ENFORCEMENT, False): _Weighted(ENFORCEMENT_DEPTS),
            (PetitionKind.ENFORCEMENT, True): _Weighted(ENFORCEMENT_DEPTS),
        }
        self.pools: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
        # The first admissible citizens' petitions go to each department type in turn, so even a small volume has
        # every one.
        self.uncovered = list(DeptType)

    def remember(self, district: str, citizen_kind: str, citizen_id: int, name: str, phone: str) -> None:
        """Keep a new petitioner for later petitions (a bounded pool per district and kind)."""
        pool = self.pools.setdefault((district, citizen_kind), [])
        if len(pool) < POOL_SIZE:
            pool.append((citizen_id, name, phone))
        else:
            pool[citizen_id % POOL_SIZE] = (citizen_id, name, phone)

    def draw(
        self,
        rng: random.Random,
        month: int,
        *,
        district: str | None = None,
        kind: PetitionKind | None = None,
        dept: DeptType | None = None,
        reject: bool | None = None,
        via_city: bool | None = None,
        new_petitioner: bool = False,
    ) -> Spec:
        """One petition's `Spec` for a petition submitted in `month`; keywords fix what would be drawn."""
        d = self.world.districts[district or str(self.district(rng))]
        kind = kind or self.kind(rng)  # type: ignore[assignment]
        assert isinstance(kind, PetitionKind)
        rejected = (
            kind != PetitionKind.ENFORCEMENT and rng.random() < REJECT_SHARE if reject is None else reject
        )
        street = d.streets[int(rng.random() * len(d.streets))]
        location, latitude, longitude = texts.location(rng, d.code, d.name, street.name)
        code: InadmissibleCode | None = None
        origin = creator = None
        terms: tuple[str, ...] = ()
        corpus_text = ""
        if rejected:
            text = self.bank.rejected(rng, kind)
            dept_type, nature, code = None, text.nature, text.inadmissible
            content = texts.frame(rng, text.content)
            terms = texts.terms_of(text.content)
        else:
            if dept is None and self.uncovered and kind != PetitionKind.ENFORCEMENT:
                dept = self.uncovered.pop(0)
            dept_type = dept or self.depts[(kind, month in HEATING_MONTHS)](rng)  # type: ignore[assignment]
            assert isinstance(dept_type, DeptType)
            if kind == PetitionKind.ENFORCEMENT:
                origin = street if rng.random() < 0.6 else self.world.department(d, DeptType.URBAN_MGMT)
                content = texts.enforcement_text(rng, origin.name, location, dept_type)
                nature = Nature.COMPLAINT if rng.random() < 0.8 else Nature.SUGGEST
                creator = self.world.handlers.get(origin.id)
            else:
                text = self.bank.petition(rng, kind, dept_type)
                nature = text.nature
                content = texts.frame(rng, text.content)
                terms = texts.terms_of(text.content)
                corpus_text = text.content
        if kind == PetitionKind.LIVELIHOOD:
            simple = 0.7 if nature == Nature.COMPLAINT else 0.9
            complexity = Complexity.SIMPLE if rng.random() < simple else Complexity.COMPLEX
        else:
            u = rng.random()
            complexity = (
                Complexity.SIMPLE
                if u < 0.5
                else Complexity.COMPLEX
                if u < 0.9
                else Complexity.ESPECIALLY_COMPLEX
            )

        citizen_id: int | None = None
        new_citizen = None
        if kind == PetitionKind.ENFORCEMENT:
            channel = Channel.STAFF
            contact_name = creator[2] if creator else f"{origin.name}工作人员"  # type: ignore[union-attr]
            contact_phone = origin.phone or texts.office_phone(rng)  # type: ignore[union-attr]
        else:
            u = rng.random()
            channel = Channel.WECHAT if u < 0.85 else Channel.HOTLINE if u < 0.97 else Channel.WORKAPP
            if channel == Channel.WECHAT:
                citizen_kind = (
                    CitizenKind.ENTERPRISE if kind == PetitionKind.DEVELOPMENT else CitizenKind.PERSON
                )
                pool = self.pools.get((d.code, citizen_kind.name))
                if pool and not new_petitioner and rng.random() < REPEAT_PETITIONER_SHARE:
                    citizen_id, contact_name, contact_phone = pool[int(rng.random() * len(pool))]
                else:
                    person = texts.person_name(rng)
                    contact_phone = texts.mobile(rng)
                    if citizen_kind == CitizenKind.ENTERPRISE:
                        contact_name = texts.company_name(rng, d.name)
                        credit = texts.credit_code(rng)
                    else:
                        contact_name, credit = person, None
                    new_citizen = (
                        citizen_kind.name,
                        contact_name,
                        contact_phone,
                        credit,
                        rng.random() < 0.95,
                        int(rng.random() * 200 * 86_400),
                    )
            else:
                contact_name, contact_phone = texts.person_name(rng), texts.mobile(rng)
                creator = self.world.hotline if channel == Channel.HOTLINE else self.world.workapp.get(d.code)

        suggestion = suggested = None
        if channel in (Channel.WECHAT, Channel.HOTLINE) and rng.random() < 0.7:
            suggestion, suggested = _suggestion(rng, dept_type, nature, kind, code, terms)
        return Spec(
            district=d,
            kind=kind,
            dept=dept_type,
            nature=nature,
            complexity=complexity,
            channel=channel,
            content=content,
            title=make_title(content),
            location=location,
            latitude=latitude,
            longitude=longitude,
            contact_name=contact_name,
            contact_phone=contact_phone,
            citizen_id=citizen_id,
            new_citizen=new_citizen,
            reject=code,
            reject_note=texts.pick(rng, texts.REJECT_NOTES[code]) if code is not None else "",
            via_city=(
                via_city
                if via_city is not None
                else not rejected and kind != PetitionKind.ENFORCEMENT and rng.random() < VIA_CITY_SHARE
            ),
            origin=origin,
            creator=creator,
            suggestion=suggestion,
            suggested=suggested,
            corpus_text=corpus_text,
        )

    def duplicate(self, rng: random.Random, month: int, master: Spec) -> Spec:
        """Another petitioner's petition about the same matter as `master` (a 民生 or 发展 one): same district, kind,
        department, nature, complexity and place, the same corpus text in their own words around it."""
        spec = self.draw(
            rng,
            month,
            district=master.district.code,
            kind=master.kind,
            dept=master.dept,
            reject=False,
            via_city=master.via_city,
        )
        content = texts.frame(rng, master.corpus_text)
        suggestion, suggested = spec.suggestion, spec.suggested
        if suggestion is not None:
            terms = texts.terms_of(master.corpus_text)
            suggestion, suggested = _suggestion(rng, master.dept, master.nature, master.kind, None, terms)
        return dataclasses.replace(
            spec,
            nature=master.nature,
            complexity=master.complexity,
            content=content,
            title=make_title(content),
            location=master.location,
            latitude=master.latitude,
            longitude=master.longitude,
            suggestion=suggestion,
            suggested=suggested,
            corpus_text=master.corpus_text,
        )


ALL_DEPTS = tuple(DeptType)


def _suggestion(
    rng: random.Random,
    dept: DeptType | None,
    nature: Nature,
    kind: PetitionKind,
    code: InadmissibleCode | None,
    terms: Sequence[str] = (),
) -> tuple[str, str]:
    """The classifier's suggestion as `Petition.suggestion` stores it: right about the department most of the time."""
    if dept is not None and rng.random() < 0.85:
        top = dept.value
    else:
        top = ALL_DEPTS[int(rng.random() * len(ALL_DEPTS))].value
    second = ALL_DEPTS[int(rng.random() * len(ALL_DEPTS))].value
    score = round(0.5 + rng.random() * 0.45, 4)
    value = {
        "departments": [{"type": top, "score": score}, {"type": second, "score": round((1 - score) / 2, 4)}],
        "nature": nature.value,
        "nature_score": round(0.6 + rng.random() * 0.39, 4),
        "development": kind == PetitionKind.DEVELOPMENT,
        "development_score": round(rng.random(), 4),
        "admissible": code is None,
        "inadmissible_code": code.value if code is not None else None,
        "reason": code.label if code is not None else "",
        "terms": list(terms),
    }
    return json.dumps(value), top
