"""Import every domain's tables so the metadata is complete."""
from .audit.models import AuditLog  # noqa: F401
from .billing.models import Invoice, InvoiceLine, Payment, PaymentSchedule  # noqa: F401
from .catalog.models import PriceList, PriceListItem, Protocol, ProtocolStep, Service  # noqa: F401
from .chart.models import Attachment, Condition, Diagnosis, Exam, ToothFinding  # noqa: F401
from .documents.models import DocumentTemplate, PatientDocument  # noqa: F401
from .messaging.models import Message, MessageTemplate  # noqa: F401
from .org.models import Clinic, Room, Specialty, Staff, StaffRole  # noqa: F401
from .patients.models import InsuranceCompany, InsurancePolicy, InsuranceProgram, Patient, PatientTag  # noqa: F401
from .planning.models import PlanItem, PlanStage, PlanVariant, TreatmentPlan  # noqa: F401
from .scheduling.models import Appointment, Shift  # noqa: F401
from .tasks.models import Task, TaskRule  # noqa: F401
from .timeclock.models import TimeClock  # noqa: F401
