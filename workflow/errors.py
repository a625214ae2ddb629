"""Domain errors raised by the workflow. Views turn them into 409 / 422 / 403 answers."""

from __future__ import annotations


class WorkflowError(Exception):
    """Base class: a workflow call was refused. The message is Chinese and can be shown to the user."""


class TransitionRefused(WorkflowError):
    """The action is not allowed for this petition, in this state, or for this actor."""

    def __init__(self, message: str, *, action: str, state: str) -> None:
        super().__init__(message)
        self.action = action
        self.state = state


class StateConflict(WorkflowError):
    """The petition changed since the actor saw it (another user acted first)."""


class IntakeConflict(WorkflowError):
    """Another channel sent an `external_id` it used before, with other content: `petition` holds that id."""

    def __init__(self, message: str, petition: object) -> None:
        super().__init__(message)
        self.petition = petition


class InvalidInput(WorkflowError):
    """The parameters of an action are missing or wrong; `field` names the offending one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownPetition(InvalidInput):
    """A parameter names a petition that does not exist in the caller's district (the edges answer 404)."""


class LinkConflict(TransitionRefused):
    """Linking a duplicate is refused in the present situation: the master is closed, replied or itself linked, or
    the duplicate already has duplicates of its own (the edges answer 409)."""
