"""Checks on the code a diagram carries: flow conditions, scripts (and pre/post scripts), timer expressions.

Timers are evaluated with the variables the process will start with (e.g. `handover_sla`) and their
value type-checked; an unquoted ISO 8601 literal (Camunda writes `<timeDuration>PT5M</timeDuration>`)
is taken as the literal it is.
"""
from __future__ import annotations

import ast
import re
from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .. import expressions
from ..budget import Limits
from .problems import BPMN, SPIFF, Problem, local, on

# Text made only of ISO 8601 characters and starting as a duration, a repetition or a date does.
_ISO_LITERAL = re.compile(r"(P|R\d*/|\d{4}-)[0-9A-Z:+\-./,]*")
_CRON = re.compile(r"^\s*[\d*?/,\-LW#]+(\s+[\d*?/,\-LW#A-Z]+){4,6}\s*$")
TIMER_KINDS = {"timeDuration": "时长", "timeCycle": "循环", "timeDate": "日期"}
_FORMATS = {
    "timeDuration": "ISO 8601 时长, 如 \"PT30M\"、\"PT4H\"、\"P2D\"",
    "timeCycle": "ISO 8601 循环, 如 \"R2/PT4H\" (重复 2 次, 每次间隔 4 小时)",
    "timeDate": "带时区的 ISO 8601 时间, 如 \"2026-05-01T09:00:00+08:00\"",
}


def iso_literal(text: str | None) -> bool:
    """Whether a timer text is an unquoted ISO 8601 literal (PT5M, R2/PT3M, 2026-05-01T09:00:00+08:00)."""
    return bool(text) and _ISO_LITERAL.fullmatch(text.strip()) is not None


def timer_source(text: str | None) -> str | None:
    """The expression the engine evaluates for a timer text: an unquoted ISO literal becomes a string literal."""
    return repr(text.strip()) if iso_literal(text) else text


def check_process(process, *, functions, variables: dict, limits: Limits) -> list[Problem]:
    """Every condition, script and timer of a process (and of its embedded subprocesses)."""
    problems = []
    assigned = _assigned_names(process)
    for node in process.iter():
        kind = local(node.tag)
        if kind == "sequenceFlow":
            condition = node.find(f"{BPMN}conditionExpression")
            if condition is not None:
                problems += _condition(node, condition.text, functions)
        elif kind == "scriptTask":
            script = node.find(f"{BPMN}script")
            if script is not None and (script.text or "").strip():
                problems += _script(node, script.text, functions, "脚本")
        elif kind == "timerEventDefinition":
            problems += _timer(node.getparent(), node, functions, variables, assigned, limits)
        for which, what in (("preScript", "前置脚本"), ("postScript", "后置脚本")):
            child = node.find(f"{BPMN}extensionElements/{SPIFF}{which}")
            if child is not None and (child.text or "").strip():
                problems += _script(node, child.text, functions, what)
    return problems


def _assigned_names(process) -> set[str]:
    """Names some script of the process assigns: a timer using one is checked by the trial run instead."""
    names = set()
    sources = [s.text for s in process.iter(f"{BPMN}script")]
    sources += [s.text for tag in ("preScript", "postScript") for s in process.iter(f"{SPIFF}{tag}")]
    for source in sources:
        try:
            tree = ast.parse(source or "", mode="exec")
        except (SyntaxError, ValueError):
            continue
        names.update(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names


def _condition(flow, source, functions) -> list[Problem]:
    source = (source or "").strip()
    if not source:
        return [on(flow, "连线设置了条件却没有内容; 请填写条件 (如 decision == \"return\"), 或删除条件")]
    if source.startswith(("${", "#{")):
        return [on(flow, f"条件 {source} 是 JUEL (${{…}}) 写法, Guichet 不支持; 请直接写表达式, "
                         "如 decision == \"return\" 或 amount > 1000")]
    try:
        expressions.check(source, mode="eval", functions=functions)
    except expressions.ExpressionError as exc:
        return [on(flow, f"条件无效: {exc}")]
    tree = ast.parse(source, mode="eval").body
    if not _may_be_boolean(tree):
        return [on(flow, f"条件的结果必须是“是/否”(布尔值), 而 {source} 得到的是数值或文字; "
                         "请写成比较, 如 decision == \"return\"")]
    return []


def _may_be_boolean(node) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, bool)
    if isinstance(node, (ast.BinOp, ast.JoinedStr, ast.List, ast.Tuple, ast.Dict)):
        return False
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
        return False
    if isinstance(node, ast.IfExp):
        return _may_be_boolean(node.body) and _may_be_boolean(node.orelse)
    return True  # comparisons, not, and/or, names and calls: the trial run checks the value


def _script(node, source, functions, what) -> list[Problem]:
    try:
        expressions.check(source, mode="exec", functions=functions)
    except expressions.ExpressionError as exc:
        return [on(node, f"{what}无效: {exc}; 脚本只能是“变量 = 表达式”的赋值语句")]
    return []


def _timer(event, definition, functions, variables, assigned, limits) -> list[Problem]:
    problems = []
    specs = [c for c in definition if local(c.tag) in TIMER_KINDS]
    if not specs:
        return [on(event, "定时器没有设置时间; 请填写时长、循环或日期")]
    spec = specs[0]
    kind, text = local(spec.tag), (spec.text or "").strip()
    expected = _FORMATS[kind]
    if not text:
        return [on(event, f"定时器{TIMER_KINDS[kind]}是空的; 应为 {expected}")]
    if text.startswith(("${", "#{")):
        return [on(event, f"定时器 {text} 是 JUEL (${{…}}) 写法, Guichet 不支持; 应为 {expected}, "
                          "或引用流程变量, 如 handover_sla")]
    if _CRON.match(text):
        return [on(event, f"定时器 {text} 是 cron 写法, Guichet 不支持; 应为 {expected}")]
    source = timer_source(text)
    try:
        expressions.check(source, mode="eval", functions=functions)
        value = expressions.evaluate(source, variables, {})
    except expressions.UnknownName as exc:
        if exc.name in assigned:
            return []  # set by a script on the way: the trial run evaluates it
        known = "、".join(sorted(variables)) or "无"
        return [on(event, f"定时器 {text} 用到了流程中没有的变量 {exc.name} (流程启动时有: {known}); "
                          f"应为 {expected}, 文字须加引号")]
    except expressions.ExpressionError as exc:
        return [on(event, f"定时器 {text} 无效: {exc}; 应为 {expected}")]
    problems += check_timer_value(event, kind, value, limits, text)
    return problems


def check_timer_value(event, kind: str, value, limits: Limits, text: str = "") -> list[Problem]:
    """The value a timer expression gives must be the ISO 8601 kind its element says, within the limits."""
    expected = _FORMATS[kind]
    shown = text or repr(value)
    if not isinstance(value, str):
        return [on(event, f"定时器 {shown} 的值不是文字, 而是 {type(value).__name__}; 应为 {expected}")]
    # SpiffWorkflow adds a month at a time: P99999999M would take minutes (dates are parsed in one go).
    if kind != "timeDate" and any(len(n) > 4 for n in re.findall(r"(\d+)[YM]", value.split("/")[-1].split("T")[0])):
        return [on(event, f"定时器 {shown} 的数值过大; 应为 {expected}")]
    try:
        if kind == "timeCycle":
            return _cycle(event, value, limits, shown)
        if kind == "timeDate":
            if datetime.fromisoformat(value).tzinfo is None:
                return [on(event, f"定时器日期 {value} 没有时区; 应为 {expected}")]
            return []
        TimerEventDefinition.parse_iso_duration(value)
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare Exception for bad durations
        return [on(event, f"定时器 {shown} 的值 {value!r} 不是有效的{TIMER_KINDS[kind]}; 应为 {expected}")]
    return []


def _cycle(event, value: str, limits: Limits, shown: str) -> list[Problem]:
    count, _start, delta = TimerEventDefinition.parse_iso_recurring_interval(value)
    problems = []
    if count < 0:
        problems.append(on(event, f"定时器 {shown} 没有重复次数 (R/ 会无限重复); 请写明次数, "
                                  f"最多 {limits.max_timer_repeats} 次, 如 \"R2/PT4H\""))
    elif count > limits.max_timer_repeats:
        problems.append(on(event, f"定时器 {shown} 重复 {count} 次, 超过上限 {limits.max_timer_repeats} 次"))
    if delta < limits.min_timer_interval:
        problems.append(on(event, f"定时器 {shown} 的间隔短于下限 {_words(limits.min_timer_interval)}; "
                                  "请加长间隔"))
    return problems


def _words(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("天", 86400), ("小时", 3600), ("分钟", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} 秒"
