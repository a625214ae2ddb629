"""How long each free-text field of a workflow action may be: one table, used by the workflow itself (every action,
whoever calls it: the admin site's forms, the JSON API, the bot), by the forms' ``maxlength`` and by the API's
OpenAPI document (``maxLength``).

A longer value is refused with a clear message naming the field (`InvalidInput`, a 422 on the site and the API),
never cut and never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow.errors import InvalidInput

# Characters (not bytes). A note is also the rejection note shown to the citizen (petition.reject_note, 500).
# `content` is a petition's description, whichever channel takes it in (the chat bot says it in its first prompt).
MAX_LENGTH: dict[str, int] = {
    "content": 5000,
    "note": 500,
    "petitioner_info": 1000,
    "policy_basis": 2000,
    "result": 4000,
    "responsible_person": 60,
    "contact_phone": 20,
    "comment": 1000,
    "reason": 1000,
    "part": 4000,
    "missing_parts_reason": 1000,
}


def max_length(name: str) -> int | None:
    """The longest value field `name` may have, or None for a field that is not free text."""
    return MAX_LENGTH.get(name)


def too_long(name: str, value: str, label: str) -> str | None:
    """Why `value` is too long for field `name` (Chinese, for the user, calling it `label`), or None when it fits."""
    limit = MAX_LENGTH.get(name)
    if limit is None or len(value) <= limit:
        return None
    return f"{label}过长：最多{limit}字，现有{len(value)}字"


def check_lengths(params: Mapping[str, Any], labels: Mapping[str, str]) -> None:
    """Refuse any free-text parameter longer than its declared maximum, before the action runs (so a long value
    of a field the action does not read, such as an optional note, is refused too).

    :raises InvalidInput: naming the first field that is too long.
    """
    for name, value in params.items():
        if isinstance(value, str):
            problem = too_long(name, value, labels.get(name, name))
            if problem:
                raise InvalidInput(problem, name)
