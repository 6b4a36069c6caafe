"""Every stage's tables, imported together for migrations and test set-up."""
from .audit.models import AuditEvent, AuditHead  # noqa: F401
from .external.models import ExternalSnapshot, ExternalTransfer, Receipt, ReceiptLink  # noqa: F401
from .forms.models import (  # noqa: F401
    Attachment,
    Correction,
    Form,
    FormTemplate,
    SensitiveValue,
    TemplateVersion,
)
from .org.models import Department, LoginSession, LoginThrottle, User  # noqa: F401
from .procedures.models import DeploymentRequest  # noqa: F401
from .templates.models import TemplateReview  # noqa: F401
from .transfer.models import Escalation, Handover  # noqa: F401
from .inbox.models import EscalationAction  # noqa: F401
from .archive.models import (  # noqa: F401
    ArchiveRoom,
    ArchiveSequence,
    Backup,
    Filing,
    IntegrityRun,
    Loan,
    RoomVisit,
    StorageIncident,
    Volume,
    VolumeMove,
)
from .queries.models import AccessGrant, AccessLog, DisclosureHandover, GrantedForm, QueryDecision, QueryOfficial, QueryRequest, QueryScan  # noqa: F401
from .supervision.models import (  # noqa: F401
    Appraisal,
    Finding,
    Inspection,
    InspectionPlan,
    KpiSnapshot,
    RectificationEvidence,
    RectificationNotice,
    RectificationStep,
    TrainingAttendance,
    TrainingSession,
)
from .destruction.models import (  # noqa: F401
    Destruction,
    DestructionItem,
    DestructionStep,
    Hold,
    RetentionRule,
    Tombstone,
)
