"""Imports every model so ``Base.metadata`` is complete (Alembic, tests)."""

from review_flow.articles.models import Article, Comment, Revision
from review_flow.audit.integrity_jobs import IntegrityRun
from review_flow.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from review_flow.audit.trail_reviews import TrailReview
from review_flow.db import Base
from review_flow.idempotency import IdempotencyRecord
from review_flow.notifications.models import EmailOptOut, Webhook
from review_flow.outbox.models import OutboxAttempt, OutboxMessage
from review_flow.policy.models import PolicyVersion
from review_flow.review_checks.models import ChecklistAnswer, ReferenceCheck
from review_flow.rounds.models import Assignment, ConflictDeclaration, ReviewRound
from review_flow.rounds.notices import AssignmentNotice
from review_flow.signatures.attempts import SignatureFailure
from review_flow.signatures.models import Decision
from review_flow.threads.models import CommentThread, ThreadMessage, ThreadStateChange
from review_flow.tokens.models import ApiToken
from review_flow.users.invitations import Invitation
from review_flow.users.models import User, UserRole
from review_flow.users.sessions import SignInSession
from review_flow.web.throttle import SignInThrottle

__all__ = [
    "ApiToken",
    "Article",
    "Assignment",
    "AssignmentNotice",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "Base",
    "ChecklistAnswer",
    "Comment",
    "CommentThread",
    "ConflictDeclaration",
    "Decision",
    "EmailOptOut",
    "IdempotencyRecord",
    "IntegrityRun",
    "Invitation",
    "OutboxAttempt",
    "OutboxMessage",
    "PolicyVersion",
    "ReferenceCheck",
    "ReviewRound",
    "Revision",
    "SignInSession",
    "SignInThrottle",
    "SignatureFailure",
    "ThreadMessage",
    "ThreadStateChange",
    "TrailReview",
    "User",
    "UserRole",
    "Webhook",
]
