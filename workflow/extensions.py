"""The extension rules (延期): how many extensions a handling round may have approved, and how long a round may last
in all.

The work rules: 发展 and 执法 petitions are done within 10 working days, "特别复杂的问题一般不超过20个工作日"; a unit
that needs more time applies to the district or city platform. So a round's time limit plus the extensions approved in
it may not exceed the kind's longest limit (a 10-day matter: at most 20 working days in all; 民生: 5, the longest
民生 limit), and a round has at most one approved extension unless the city platform approves another.
Both are settings (``[extensions]``); the session carries them (`policy_of`), so every caller — the admin site, the
API, the jobs — applies the same ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from models import ExtensionRequest, Petition
from models.enums import PetitionKind, RequestState

SESSION_KEY = "qingsu.extension_policy"
# The longest a single request may ask for, whatever is left.
MAX_EXTENSION_DAYS = 20


def _default_totals() -> dict[PetitionKind, int]:
    return {PetitionKind.LIVELIHOOD: 5, PetitionKind.DEVELOPMENT: 20, PetitionKind.ENFORCEMENT: 20}


@dataclass(frozen=True)
class ExtensionPolicy:
    """``max_approved_per_round``: extensions the district platform may approve in one round (the city platform
    decides any further one). ``max_total_working_days``: a round's time limit plus its approved extensions, by kind."""

    max_approved_per_round: int = 1
    max_total_working_days: Mapping[PetitionKind, int] = field(default_factory=_default_totals)

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> ExtensionPolicy:
        """The policy of the ``[extensions]`` configuration section (missing keys keep their defaults).

        :raises ValueError: for an unknown kind or a value that is not a whole number of at least 0 (1 for totals).
        """
        section = section or {}
        per_round = int(section.get("max_approved_per_round", 1))
        if per_round < 0:
            raise ValueError("[extensions] max_approved_per_round must be 0 or more")
        totals = _default_totals()
        for kind, days in (section.get("max_total_working_days") or {}).items():
            try:
                totals[PetitionKind(kind)] = int(days)
            except ValueError:
                raise ValueError(f"[extensions] max_total_working_days: unknown kind {kind!r}") from None
            if int(days) < 1:
                raise ValueError(f"[extensions] max_total_working_days.{kind} must be at least 1")
        return cls(per_round, totals)

    def total_for(self, kind: PetitionKind) -> int:
        return self.max_total_working_days[kind]


DEFAULT_POLICY = ExtensionPolicy()


def init_app(app: Flask) -> None:
    """Put the ``[extensions]`` policy into every session the app's session factory makes (after the database's
    `init_app`), so the workflow finds it in the session it is handed.

    :raises ValueError: for a wrong setting (`ExtensionPolicy.from_config`), when the app is built.
    """
    maker = app.extensions["qingsu.sessionmaker"]
    info = dict(maker.kw.get("info") or {})
    info[SESSION_KEY] = ExtensionPolicy.from_config(app.config.get("EXTENSIONS"))
    maker.configure(info=info)


def policy_of(session: Session | None) -> ExtensionPolicy:
    """The policy the session's application configured (`init_app`), else the default."""
    if session is None:
        return DEFAULT_POLICY
    policy = session.info.get(SESSION_KEY)
    return policy if isinstance(policy, ExtensionPolicy) else DEFAULT_POLICY


@dataclass(frozen=True)
class RoundAllowance:
    """What a petition's current round still allows: approved extensions and days so far, days left, and whether a
    further approval needs the city platform."""

    approved: int
    approved_days: int
    days_left: int
    total: int
    needs_city: bool


def allowance(petition: Petition, requests: Iterable[ExtensionRequest], policy: ExtensionPolicy) -> RoundAllowance:
    """The petition's current round against the policy, from its extension requests (any round; others are ignored)."""
    approved = [
        r for r in requests
        if r.handling_round == petition.handling_round and r.state == RequestState.APPROVED
    ]
    days = sum(r.extra_working_days for r in approved)
    total = policy.total_for(petition.kind)
    left = max(0, min(MAX_EXTENSION_DAYS, total - (petition.time_limit_days or 0) - days))
    return RoundAllowance(len(approved), days, left, total, len(approved) >= policy.max_approved_per_round)
