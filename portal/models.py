"""Imports every model so that SQLAlchemy's metadata (and Alembic) knows all tables."""
from portal.accounts.models import ApiToken, BrowserSession, User, UserRole  # noqa: F401
from portal.audit.models import AuditCheckpoint, AuditEntry, AuditLeaf, AuditLogState, AuditNode, AuditSigningKey  # noqa: F401
from portal.bulletins.models import (  # noqa: F401
    Bulletin, BulletinAcknowledgement, BulletinAttachment, BulletinAudience, BulletinFeedback, BulletinIndicator, BulletinMessage,
    BulletinQuestion, BulletinRead, BulletinSighting, BulletinTypology, BulletinVersion,
)
from portal.jobs import JobLease  # noqa: F401
from portal.outbox import Delivery, NotificationPreference, OutboxMessage, WebhookEndpoint  # noqa: F401
from portal.federation.models import ExternalIdentity, IdentityProvider  # noqa: F401
from portal.deportees.models import (  # noqa: F401
    DeporteeIdentifier, DeporteeNotification, DeporteeNotificationRecipient, DeporteeRoute, DeporteeUpdate,
)
from portal.organisations.models import Organisation  # noqa: F401
from portal.settings_store import PortalSetting  # noqa: F401
from portal.references import ReferenceCounter  # noqa: F401
from portal.submissions.models import (  # noqa: F401
    Submission, SubmissionAttachment, SubmissionDraft, SubmissionEvent, SubmissionFeedback, SubmissionIdentifier,
    SubmissionNote, SubmissionPerson, SubmissionTypology,
)
from portal.activity import ActivityEvent  # noqa: F401,E402
from portal.rfis.models import InformationRequest, RequestMessage  # noqa: F401,E402
from portal.ratings.models import Assessment, AssessmentAnswer, AssessmentEvidence  # noqa: F401,E402
from portal.scorecards.models import MonthlyActivity, Scorecard  # noqa: F401,E402
from portal.file_store import StoredFile, StoredFileChunk  # noqa: F401,E402
from portal.taxii.models import TaxiiStatus  # noqa: F401,E402
from portal.wording.models import TranslatorLanguage, WordingSuggestion  # noqa: F401,E402
