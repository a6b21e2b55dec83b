"""Every table: what more than one service reads is a contract, kept here, in two modules by who
writes it: events.py (ingest's consumer writes events, rollups and conversation facts; reports
read them) and pages.py (moments writes moments, their audit trail and the sheet and survey
outboxes; staff accounts, sessions, failed logins and API tokens serve every service's pages and
APIs; reports keep goals, the value model and deliveries). Importing this package registers
them all; services/domain/migrations create exactly these (a test runs `alembic check`).
"""

from services.domain.tables.events import (
    CAMPAIGN_LENGTH,
    CONVERTED_COLUMNS,
    CONVERTED_WHERE,
    OUTCOME_COLUMNS,
    OUTCOME_WHERE,
    UNUSUAL_ACTOR,
    UPPER,
    Competitor,
    ConsumerProgress,
    DeadLetter,
    EventRetention,
    InteractionEvent,
    PersonErasure,
    RollupDaily,
    RollupEngagementHourly,
    RollupHourly,
    RollupOutcomeDaily,
    RollupOutcomeMonthly,
    SupportConversation,
    SupportSchedule,
)
from services.domain.tables.pages import (
    ApiToken,
    Goal,
    LoginFailure,
    Moment,
    MomentAudit,
    ReportDelivery,
    SheetOutbox,
    SurveyOutbox,
    User,
    UserSession,
    ValueModelRow,
)

__all__ = [
    "CAMPAIGN_LENGTH",
    "CONVERTED_COLUMNS",
    "CONVERTED_WHERE",
    "OUTCOME_COLUMNS",
    "OUTCOME_WHERE",
    "UNUSUAL_ACTOR",
    "UPPER",
    "ApiToken",
    "Competitor",
    "ConsumerProgress",
    "DeadLetter",
    "EventRetention",
    "Goal",
    "InteractionEvent",
    "LoginFailure",
    "Moment",
    "MomentAudit",
    "PersonErasure",
    "ReportDelivery",
    "RollupDaily",
    "RollupEngagementHourly",
    "RollupHourly",
    "RollupOutcomeDaily",
    "RollupOutcomeMonthly",
    "SheetOutbox",
    "SupportConversation",
    "SupportSchedule",
    "SurveyOutbox",
    "User",
    "UserSession",
    "ValueModelRow",
]
