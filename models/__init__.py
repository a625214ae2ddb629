"""SQLAlchemy models, one module per aggregate. Importing this package registers every table on `Base.metadata`."""

from models.alerts import StaffAlert
from models.base import Base, UTCDateTime
from models.citizen import Citizen, Conversation, InboundMessage, WebhookNonce
from models.clock import utcnow
from models.district import District, WechatAccount
from models.handling import Assessment, CooperationTask, Evaluation, ExtensionRequest, Reply
from models.hot_issue import DuplicateCandidate, DuplicateCheck, HotIssue, HotIssuePetition
from models.messaging import (
    AccessToken,
    HealthProbe,
    HolidayOverride,
    HolidayYear,
    JobState,
    Notification,
    NotificationTemplate,
    SchedulerLease,
)
from models.petition import Attachment, Petition, PetitionEvent, PetitionSequence, petition_cooperating_unit
from models.tally import AcceptanceTally, RateTally, VolumeTally
from models.text_search import DATABASE_ONLY_INDEXES
from models.unit import Unit
from models.user import ApiToken, AuditLog, User
from models.warning import WarningRule

__all__ = [
    "DATABASE_ONLY_INDEXES",
    "AcceptanceTally",
    "AccessToken",
    "ApiToken",
    "Assessment",
    "Attachment",
    "AuditLog",
    "Base",
    "Citizen",
    "Conversation",
    "CooperationTask",
    "District",
    "DuplicateCandidate",
    "DuplicateCheck",
    "Evaluation",
    "ExtensionRequest",
    "HealthProbe",
    "HolidayOverride",
    "HolidayYear",
    "HotIssue",
    "HotIssuePetition",
    "InboundMessage",
    "JobState",
    "Notification",
    "NotificationTemplate",
    "Petition",
    "PetitionEvent",
    "PetitionSequence",
    "RateTally",
    "Reply",
    "SchedulerLease",
    "StaffAlert",
    "UTCDateTime",
    "Unit",
    "User",
    "VolumeTally",
    "WarningRule",
    "WebhookNonce",
    "WechatAccount",
    "petition_cooperating_unit",
    "utcnow",
]
