"""A procedure change as a manager reads it: what a deployment request changes, element by element, in words."""
from __future__ import annotations

import re

from sqlalchemy.orm import Session

from engine import deploy as deployment

from .models import DeploymentRequest
from .service import Element, elements_of

KINDS = {"userTask": "人工环节", "serviceTask": "自动操作", "scriptTask": "脚本", "exclusiveGateway": "分支",
         "parallelGateway": "并行分支", "sequenceFlow": "连线", "boundaryEvent": "时限事件", "startEvent": "开始",
         "endEvent": "结束", "lane": "泳道(部门)", "intermediateCatchEvent": "等待事件", "callActivity": "子流程"}
SETTINGS = {"timeCycle": "时限", "timeDuration": "时限", "timeDate": "时限", "conditionExpression": "条件",
            "attachedToRef": "所属环节", "cancelActivity": "超时后中断原环节", "sourceRef": "起点", "targetRef": "终点",
            "default": "默认去向", "flowNodeRef": "包含环节", "script": "脚本内容", "decisions": "可选决定"}
SKIPPED = {"incoming", "outgoing"}  # follow from the flows, which are listed themselves


def of_request(session: Session, pending: DeploymentRequest) -> dict:
    """What a pending deployment changes against the newest deployed version (everything is new for a new process)."""
    latest = deployment.latest_definition(session, pending.process_key)
    before = elements_of(latest.xml) if latest is not None else {}
    after = elements_of(pending.xml)
    names = {**{i: e.name for i, e in before.items()}, **{i: e.name for i, e in after.items()}}
    added = [after[i] for i in sorted(after.keys() - before.keys())]
    removed = [before[i] for i in sorted(before.keys() - after.keys())]
    changed = [(before[i], after[i]) for i in sorted(after.keys() & before.keys()) if before[i] != after[i]]
    return {
        "base_version": latest.version if latest is not None else None,
        "added": [x.id for x in added], "removed": [x.id for x in removed], "changed": [a.id for _b, a in changed],
        "sentences": ([("added", f"新增{_what(e, names)}") for e in added]
                      + [("removed", f"删除{_what(e, names)}") for e in removed]
                      + [("changed", f"修改{_what(a, names)}: {_how(b, a, names)}") for b, a in changed]),
    }


def _what(e: Element, names: dict) -> str:
    kind = KINDS.get(e.kind, e.kind)
    if e.name:
        return f"{kind}“{e.name}”"
    settings = _settings(e)
    if e.kind == "boundaryEvent" and settings.get("attachedToRef"):
        return f"“{names.get(settings['attachedToRef']) or settings['attachedToRef']}”的{kind}"
    if e.kind == "sequenceFlow" and settings.get("sourceRef"):
        source, target = settings["sourceRef"], settings.get("targetRef", "")
        return f"{kind}“{names.get(source) or source}”→“{names.get(target) or target}”"
    return kind


def _how(before: Element, after: Element, names: dict) -> str:
    parts = []
    if before.name != after.name:
        parts.append(f"名称 “{before.name}” 改为 “{after.name}”")
    old, new = _settings(before, names), _settings(after, names)
    for key in sorted(old.keys() | new.keys()):
        if key in SKIPPED or old.get(key) == new.get(key):
            continue
        parts.append(f"{SETTINGS.get(key, key)} {_value(key, old.get(key))} → {_value(key, new.get(key))}")
    return "; ".join(parts) or "设置有变化"


REFERENCES = {"attachedToRef", "sourceRef", "targetRef", "default", "flowNodeRef"}


def _settings(e: Element, names: dict | None = None) -> dict:
    """An element's settings by name; references to other elements by their names, repeated ones together."""
    found: dict[str, list[str]] = {}
    for part in e.detail.split("; ") if e.detail else []:
        key, _sep, value = part.partition("=")
        key = key.split("}")[-1]
        if names is not None and key in REFERENCES:
            value = names.get(value) or value
        found.setdefault(key, []).append(value)
    return {k: "、".join(sorted(v)) if len(v) > 1 else v[0] for k, v in found.items()}


DECISION_WORDS = {"complete": "办理完成", "return": "退回", "approve": "批准", "respond": "反馈整改", "pass": "复查通过",
                  "fail": "复查不通过"}
_UNITS = (("D", "天"), ("H", "小时"), ("M", "分钟"), ("S", "秒"))
_DURATION = re.compile(r"^P(?:(?P<D>\d+)D)?(?:T(?:(?P<H>\d+)H)?(?:(?P<M>\d+)M)?(?:(?P<S>\d+)S)?)?$")
_LITERAL = re.compile(r'^"([^"]*)"$')
_CYCLE_FROM_SETTING = re.compile(r'^"R(\d+)/"\s*\+\s*([A-Za-z_]\w*)$')
_DECISION_TEST = re.compile(r'^decision\s*==\s*["\']([A-Za-z_]+)["\']$')


def _value(key: str, value: str | None) -> str:
    """A setting's value as a manager reads it: a timer as a period, a decision test as the decision's name."""
    if value is None:
        return "(无)"
    if key in ("timeCycle", "timeDuration", "timeDate"):
        return timer_in_words(value)
    if key == "conditionExpression":
        found = _DECISION_TEST.match(value.strip())
        return f"办理决定为“{DECISION_WORDS.get(found.group(1), found.group(1))}”" if found else f"“{value}”"
    if key == "cancelActivity":
        return "是" if value == "true" else "否"
    return value


def timer_in_words(expression: str) -> str:
    """A timer expression in words: "R2/PT3M" → 每 3分钟 一次, 共 2 次; "R2/" + handover_sla → 按系统默认时限, 共 2 次."""
    text = expression.strip()
    setting = _CYCLE_FROM_SETTING.match(text)
    if setting:
        return f"按系统默认时限, 共 {setting.group(1)} 次"
    literal = _LITERAL.match(text)
    if literal:
        body = literal.group(1)
        repeats, _sep, period = body.rpartition("/")
        if repeats.startswith("R") and repeats[1:].isdigit():
            return f"每 {_duration(period)} 一次, 共 {repeats[1:]} 次"
        return _duration(body)
    return f"“{text}”"


def _duration(text: str) -> str:
    found = _DURATION.match(text)
    if not found or not any(found.groupdict().values()):
        return text
    return "".join(f"{int(found.group(unit))}{word}" for unit, word in _UNITS if found.group(unit))
