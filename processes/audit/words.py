"""An audit event as an inspector reads it: actions, objects, people, steps and fields by their names, never
by their codes (the codes stay available on hover)."""
from __future__ import annotations

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import ProcessDefinition

from ..forms.models import Form, TemplateVersion
from ..org import service as org
from .models import DECISIONS, DETAIL_LABELS, FIELD_DETAILS, PERSON_DETAILS, STEP_DETAILS, AuditEvent

# The diagram whose steps an object's events name.
PROCESS_OF = {"form": "internal_transfer", "query_request": "query_approval", "destruction": "destruction_approval",
              "external_transfer": "external_transfer", "rectification": "rectification",
              "template_version": "template_approval", "deployment_request": "deployment_approval"}
_SAFE = etree.XMLParser(resolve_entities=False, no_network=True)


class Words:
    """Looks names up once per page: the steps of each process's newest diagram, the fields of each template."""

    def __init__(self, session: Session):
        self.session = session
        self._steps: dict[str, dict[str, str]] | None = None
        self._processes: dict[str, str] = {}
        self._fields: dict[tuple[str, str], dict[str, str]] = {}

    def details(self, event: AuditEvent) -> list[tuple[str, str, str]]:
        """The event's details as (label, text, code) rows: 环节 信贷部办理 (hop_credit on hover)."""
        rows = []
        for key, value in (event.details or {}).items():
            if value is None:
                continue
            text, code = self._text(event, key, value), ""
            if key in STEP_DETAILS or key in FIELD_DETAILS or key in PERSON_DETAILS or key == "key":
                code = ", ".join(value) if isinstance(value, list) else str(value)
            rows.append((DETAIL_LABELS.get(key, key), text, code))
        return rows

    def _text(self, event: AuditEvent, key: str, value) -> str:
        if key == "decision":
            return DECISIONS.get(value, value)
        if key == "key":
            return self.process_name(str(value))
        if key in PERSON_DETAILS:
            return org.display_name(self.session, value)
        if key in STEP_DETAILS:
            return self.step(event.object_type, str(value))
        if key in FIELD_DETAILS:
            labels = self.fields(event)
            values = value if isinstance(value, list) else [value]
            return "、".join(labels.get(str(v), str(v)) for v in values) or "—"
        if key.endswith("sha256"):
            return str(value)[:12]
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, list):
            return "、".join(str(v) for v in value) or "—"
        return str(value)

    def step(self, object_type: str, step_id: str) -> str:
        """A step's name in the diagram its object runs on (any diagram when that one does not have it)."""
        steps = self._all_steps()
        own = steps.get(PROCESS_OF.get(object_type, ""), {})
        if step_id in own:
            return own[step_id]
        return next((names[step_id] for names in steps.values() if step_id in names), step_id)

    def process_name(self, key: str) -> str:
        """A process by the name of its newest version."""
        self._all_steps()
        return self._processes.get(key, key)

    def fields(self, event: AuditEvent) -> dict[str, str]:
        """Field code → label of the template the event's form (or template version) was filled on."""
        key = (event.object_type, event.object_id)
        if key not in self._fields:
            version = None
            if event.object_type == "form" and event.object_id.isdigit():
                form = self.session.get(Form, int(event.object_id))
                version = form.template_version if form is not None else None
            elif event.object_type == "template_version" and event.object_id.isdigit():
                version = self.session.get(TemplateVersion, int(event.object_id))
            self._fields[key] = {f["code"]: f.get("label") or f["code"] for f in (version.fields if version else [])}
        return self._fields[key]

    def _all_steps(self) -> dict[str, dict[str, str]]:
        if self._steps is None:
            self._steps = {}
            for definition in self.session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.version)):
                self._processes[definition.key] = definition.name or definition.key
                root = etree.fromstring(definition.xml.encode("utf-8"), _SAFE)
                self._steps[definition.key] = {el.get("id"): el.get("name") for el in root.iter()
                                               if isinstance(el.tag, str) and el.get("id") and el.get("name")
                                               and etree.QName(el).localname.endswith("Task")}
        return self._steps
