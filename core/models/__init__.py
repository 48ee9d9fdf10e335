"""SQLAlchemy typed models. Import everything so Base.metadata is complete."""
from core.models.base import Base  # noqa: F401
from core.models.org import AuditLog, AuthSession, ExamTerm, Org, OrgTerm, User  # noqa: F401
from core.models.ncre import (  # noqa: F401
    CancelledRegistration,
    Candidate,
    CandidateAccount,
    CandidatePhoto,
    Enrollment,
    IntentQuota,
    OpWindow,
    PaymentOrder,
    ProvinceNotice,
    ProvinceSubject,
    Registration,
    RegistryRecord,
    SiteFee,
    SiteSetting,
    SiteSubject,
    Subject,
)
from core.models.arrange import (  # noqa: F401
    AnomalyFile,
    CandidateTicket,
    ExamRoom,
    ExamSession,
    GeneratedFile,
    SimReport,
    TicketDownload,
)
from core.models.workflow import Application, ApplicationEvent, Attachment  # noqa: F401
from core.models.oces import OcesBatch, OcesExamResult, OcesGrant, OcesStudent  # noqa: F401
from core.models.postexam import CertMailing, Score, SettlementAccount, Violation  # noqa: F401
