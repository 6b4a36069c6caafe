"""Deployment: parse and check a BPMN file, store it as a version keyed by its content hash.

A diagram is untrusted input (managers edit it), so it is parsed without entity expansion and every
condition, timer and script goes through the whitelisted expression checker before it is accepted.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask, UserTask
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from . import decisions, expressions
from .models import ProcessDefinition
from .prepared import Prepared

_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False)
MAX_BYTES = 2 * 1024 * 1024  # a real diagram is tens of kilobytes
MAX_FLOW_ELEMENTS = 2000
_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


@dataclass
class Problem:
    """One reason a diagram is refused, on the element it concerns."""

    element_id: str
    message: str


class DeploymentError(ValueError):
    """The diagram was refused; `problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.element_id}: {p.message}" for p in problems))
        self.problems = problems


@dataclass
class ParsedDefinition:
    """A parsed process ready to run: its spec and the specs of its call activities."""

    key: str
    name: str
    spec: object
    subprocess_specs: dict


def parse(xml: str | bytes, *, operations=(), functions=(), expected_key: str | None = None) -> ParsedDefinition:
    """Parse and check a BPMN document holding one executable process; raise DeploymentError."""
    raw = xml.encode("utf-8") if isinstance(xml, str) else xml
    if len(raw) > MAX_BYTES:
        raise DeploymentError([Problem("", f"文件过大: {len(raw) // 1024} KB, 上限 {MAX_BYTES // 1024} KB")])
    try:
        root = etree.fromstring(raw, _SAFE_XML)
    except etree.XMLSyntaxError as exc:
        raise DeploymentError([Problem("", f"XML 格式错误: {exc}")]) from None
    flow_elements = sum(1 for process in root.iter(f"{_BPMN}process") for _ in process.iter())
    if flow_elements > MAX_FLOW_ELEMENTS:
        raise DeploymentError([Problem("", f"流程元素过多: {flow_elements} 个, 上限 {MAX_FLOW_ELEMENTS} 个")])
    parsed = _parse_tree(root, operations, functions)
    if expected_key is not None and parsed.key != expected_key:
        raise DeploymentError([Problem(parsed.key, f"流程标识 {parsed.key} 与目标流程 {expected_key} 不一致, "
                                                    "不能用一个流程的图覆盖另一个流程")])
    return parsed


def _parse_tree(root, operations, functions) -> ParsedDefinition:
    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_xml(etree.ElementTree(root), filename="upload.bpmn")
        keys = [k for k in parser.get_process_ids() if parser.get_process_parser(k).process_executable]
        if len(keys) != 1:
            raise DeploymentError([Problem("", f"一个文件须恰好包含一个可执行流程, 实际 {len(keys)} 个")])
        spec = parser.get_spec(keys[0])
        subprocess_specs = parser.get_subprocess_specs(keys[0])
    except ValidationException as exc:
        raise DeploymentError([Problem(exc.id or "", f"BPMN 校验失败: {exc}")]) from None
    except SpiffWorkflowException as exc:
        raise DeploymentError([Problem(getattr(exc, "id", "") or "", f"BPMN 解析失败: {exc}")]) from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        # SpiffWorkflow's parser assumes well-formed BPMN; anything it trips over is the diagram's fault.
        raise DeploymentError([Problem("", f"BPMN 结构不完整或无法识别: {type(exc).__name__}: {exc}")]) from None
    problems = check_spec(spec, operations=set(operations), functions=set(functions))
    for sub in subprocess_specs.values():
        problems += check_spec(sub, operations=set(operations), functions=set(functions))
    if problems:
        raise DeploymentError(problems)
    return ParsedDefinition(keys[0], spec.description or keys[0], spec, subprocess_specs)


def check_spec(spec, *, operations: set, functions: set) -> list[Problem]:
    """What this product needs of a process beyond what SpiffWorkflow checks."""
    problems: list[Problem] = []
    specs = spec.task_specs.values()
    if not any(type(s).__name__ == "StartEvent" for s in specs):
        problems.append(Problem(spec.name, "流程缺少开始事件"))
    if not any(type(s).__name__ == "EndEvent" for s in specs):
        problems.append(Problem(spec.name, "流程缺少结束事件"))
    if not _end_reachable(spec):
        problems.append(Problem(spec.name, "从开始事件无法到达任何结束事件"))
    for ts in specs:
        if isinstance(ts, UserTask) and not ts.lane:
            problems.append(Problem(ts.bpmn_id or ts.name, "用户任务必须位于一个泳道(部门/角色)内"))
        if isinstance(ts, UserTask):
            problems += [Problem(ts.bpmn_id or ts.name, message) for message in decisions.problems(ts)]
        if isinstance(ts, ServiceTask) and ts.operation_name not in operations:
            problems.append(Problem(ts.bpmn_id or ts.name, f"未注册的服务操作: {ts.operation_name}"))
        for condition, _target in getattr(ts, "cond_task_specs", []) or []:
            if condition is not None:
                problems += _check_expr(ts, condition_text(condition), "eval", functions, "条件表达式")
        script = getattr(ts, "script", None)
        if isinstance(script, str):
            problems += _check_expr(ts, script, "exec", functions, "脚本")
        if isinstance(ts, CatchingEvent) and isinstance(ts.event_definition, TimerEventDefinition):
            problems += _check_timer(ts, functions)
    return problems


def _end_reachable(spec) -> bool:
    """Whether some end event can be reached from the start (following outgoing flows and boundary events)."""
    start = spec.task_specs.get("Start")
    seen, todo = set(), [start] if start is not None else []
    while todo:
        ts = todo.pop()
        if ts is None or ts.name in seen:
            continue
        seen.add(ts.name)
        if type(ts).__name__ == "EndEvent":
            return True
        todo.extend(ts.outputs)
    return False


def condition_text(condition) -> str:
    """The source of a gateway condition (SpiffWorkflow wraps it in an operator object)."""
    if condition is None:
        return ""
    args = getattr(condition, "args", None)
    return str(args[0]) if args else str(condition)


def _check_expr(ts, source, mode, functions, what) -> list[Problem]:
    try:
        expressions.check(source, mode=mode, functions=functions)
    except expressions.ExpressionError as exc:
        return [Problem(ts.bpmn_id or ts.name, f"{what}无效: {exc}")]
    return []


def _check_timer(ts, functions) -> list[Problem]:
    definition = ts.event_definition
    problems = _check_expr(ts, definition.expression, "eval", functions, "定时器表达式")
    if problems:
        return problems
    try:
        literal = expressions.evaluate(definition.expression, {})
    except expressions.ExpressionError:
        return []  # depends on process data; checked when the timer starts
    try:
        if isinstance(definition, CycleTimerEventDefinition):
            TimerEventDefinition.parse_iso_recurring_interval(literal)
        elif isinstance(definition, TimeDateEventDefinition):
            if datetime.fromisoformat(literal).tzinfo is None:
                return [Problem(ts.bpmn_id or ts.name, "定时器日期必须带时区, 如 2026-01-01T09:00:00+08:00")]
        else:
            TimerEventDefinition.parse_iso_duration(literal)
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare Exception for bad durations
        return [Problem(ts.bpmn_id or ts.name, f"定时器不是有效的 ISO 8601 时长或日期: {literal!r}")]
    return []


def deploy(session: Session, xml: str, *, actor: str, now: datetime, operations=(), functions=(),
           expected_key: str | None = None) -> tuple[ProcessDefinition, bool]:
    """Store the diagram as the newest version of its process; (definition, created). Same hash as the newest: no new version."""
    parsed = parse(xml, operations=operations, functions=functions, expected_key=expected_key)
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


def _parse_trusted(xml: str) -> ParsedDefinition:
    root = etree.fromstring(xml.encode("utf-8"), _SAFE_XML)
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(etree.ElementTree(root), filename="stored.bpmn")
    key = [k for k in parser.get_process_ids() if parser.get_process_parser(k).process_executable][0]
    spec = parser.get_spec(key)
    return ParsedDefinition(key, spec.description or key, spec, parser.get_subprocess_specs(key))
