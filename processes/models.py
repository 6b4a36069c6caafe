"""Every stage's tables, imported together for migrations and test set-up."""
from .forms.models import Form, FormTemplate, TemplateVersion  # noqa: F401
from .org.models import Department, User  # noqa: F401
from .transfer.models import Escalation, Handover  # noqa: F401
