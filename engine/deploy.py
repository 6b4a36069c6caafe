"""Deployment: parse and check a BPMN file, store it as a version keyed by its content hash.

A diagram is untrusted input (managers edit it, or bring it from another modeler), so it is parsed without
entity expansion and must pass every check of `engine/validation`, trial run included, before it is stored.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from lxml import etree
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from .budget import Limits
from .models import ProcessDefinition
from .prepared import Prepared
from .validation import Checked, DeploymentError, Problem, check, parse_stored

__all__ = ["DeploymentError", "Problem", "ParsedDefinition", "parse", "deploy", "condition_text"]

_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False)
MAX_BYTES = 2 * 1024 * 1024  # a real diagram is tens of kilobytes
MAX_FLOW_ELEMENTS = 2000
_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
ParsedDefinition = Checked


def parse(xml: str | bytes, *, operations=(), functions=(), expected_key: str | None = None,
          variables: dict | None = None, limits: Limits | None = None, trial: bool = True) -> Checked:
    """Parse and check a BPMN document holding one executable process; raise DeploymentError with every problem.

    `variables`: per process key, the data its instances start with (a dict, or a list of dicts: one per kind of
    start); timers are evaluated with them and the trial runs once per dict.
    """
    raw = xml.encode("utf-8") if isinstance(xml, str) else xml
    if len(raw) > MAX_BYTES:
        raise DeploymentError([Problem("", f"文件过大: {len(raw) // 1024} KB, 上限 {MAX_BYTES // 1024} KB")])
    try:
        root = etree.fromstring(raw, _SAFE_XML)
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None) or (exc.position[0] if getattr(exc, "position", None) else "?")
        raise DeploymentError([Problem("", f"XML 格式错误 (第 {line} 行): 文件不是完整的 BPMN 2.0 XML; "
                                           "请从建模器重新导出")]) from None
    flow_elements = sum(1 for process in root.iter(f"{_BPMN}process") for _ in process.iter())
    if flow_elements > MAX_FLOW_ELEMENTS:
        raise DeploymentError([Problem("", f"流程元素过多: {flow_elements} 个, 上限 {MAX_FLOW_ELEMENTS} 个")])
    return check(root, operations=operations, functions=functions, variables=variables or {},
                 limits=limits or Limits(), expected_key=expected_key, run_trial=trial)


def condition_text(condition) -> str:
    """The source of a gateway condition (SpiffWorkflow wraps it in an operator object)."""
    if condition is None:
        return ""
    args = getattr(condition, "args", None)
    return str(args[0]) if args else str(condition)


def deploy(session: Session, xml: str, *, actor: str, now: datetime, operations=(), functions=(),
           expected_key: str | None = None, variables: dict | None = None,
           limits: Limits | None = None) -> tuple[ProcessDefinition, bool]:
    """Store the diagram as the newest version of its process; (definition, created). Same hash as the newest: no new version."""
    parsed = parse(xml, operations=operations, functions=functions, expected_key=expected_key, variables=variables,
                   limits=limits)
    digest = hashlib.sha256(xml.encode("utf-8")).hexdigest()
    latest = latest_definition(session, parsed.key)
    if latest is not None and latest.sha256 == digest:
        return latest, False
    version = (session.scalar(select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == parsed.key)) or 0) + 1
    definition = ProcessDefinition(
        key=parsed.key, version=version, name=parsed.name, xml=xml, sha256=digest, deployed_by=actor, deployed_at=now,
    )
    session.add(definition)
    session.flush()
    return definition, True


def latest_definition_id(session: Session, key: str) -> int | None:
    """The id of the newest deployed version of a process (without reading its XML), or None."""
    row = _LATEST_ID.first(session, {"b_key": key})
    return row[0] if row is not None else None


_DEFINITION = ProcessDefinition.__table__
_LATEST_ID = Prepared(select(_DEFINITION.c.id).where(_DEFINITION.c.key == bindparam("b_key"))
                      .order_by(_DEFINITION.c.version.desc()).limit(1))


def latest_definition(session: Session, key: str) -> ProcessDefinition | None:
    """The newest deployed version of a process, or None."""
    return session.scalars(
        select(ProcessDefinition).where(ProcessDefinition.key == key).order_by(ProcessDefinition.version.desc()).limit(1)
    ).first()


class SpecCache:
    """Parsed specs per definition id: a definition never changes, so it is parsed once per process."""

    def __init__(self):
        self._specs: dict[int, ParsedDefinition] = {}

    def get(self, definition: ProcessDefinition) -> ParsedDefinition:
        """The parsed spec of a stored definition."""
        parsed = self._specs.get(definition.id)
        if parsed is None:
            # Already checked when deployed; re-parse without the registry checks.
            parsed = _parse_trusted(definition.xml)
            self._specs[definition.id] = parsed
        return parsed

    def by_id(self, session: Session, definition_id: int) -> ParsedDefinition:
        """The parsed spec of a definition id; the stored XML is read only the first time."""
        parsed = self._specs.get(definition_id)
        if parsed is None:
            xml = session.scalar(select(ProcessDefinition.xml).where(ProcessDefinition.id == definition_id))
            parsed = _parse_trusted(xml)
            self._specs[definition_id] = parsed
        return parsed


def _parse_trusted(xml: str) -> Checked:
    return parse_stored(etree.fromstring(xml.encode("utf-8"), _SAFE_XML))
