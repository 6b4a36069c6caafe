"""SpiffWorkflow's side: its parse errors in words a manager reads, the parsed specs adjusted the way Guichet
runs them (unquoted ISO timers, Camunda candidate groups as lanes), and checks that need the parsed specs."""
from __future__ import annotations

import re

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

from .. import decisions
from .code import timer_source
from .problems import CAMUNDA, KINDS, Problem, label, local

# SpiffWorkflow's parser messages (English) and what they mean for the person drawing the diagram.
_SPIFF_MESSAGES = [
    (r"The process '([^']*)' was not found", "调用的流程 {0} 不在本文件中; 调用活动只能调用同一文件里的流程"),
    (r"Duplicate process ID", "文件里有两个流程用了同一个标识; 请给每个流程不同的标识"),
    (r"No start event found", "流程没有开始事件; 请添加一个开始事件"),
    (r"There is no support implemented for this task type", "Guichet 不支持该类元素; 请改用用户任务、服务任务或脚本任务"),
    (r"Could not find messageRef", "引用的消息不存在"),
    (r"identifier is missing", "有消息/信号/错误定义缺少标识"),
    (r"Cannot resolve data(Input|Output)Association", "数据关联指向的数据对象不存在; 请删除该数据关联或补上数据对象"),
    (r"Unknown Time Specification", "定时器缺少时长、循环或日期"),
    (r"Time Specification Error", "定时器的时间设置无效"),
    (r"Conditional event definition with missing condition", "条件事件缺少条件"),
    (r"Ad hoc subprocess", "Guichet 不支持自由子流程"),
    (r"Multiple outgoing flows|outgoing", "出口连线设置有误 (如多条出口但没有网关或条件)"),
    (r"[Dd]efault", "默认连线设置有误"),
    (r"[Ll]oop|[Cc]ardinality|collection", "多实例/循环设置有误 (请检查循环次数或集合变量)"),
]


def spiff_problem(exc, elements: dict) -> Problem:
    """A SpiffWorkflow parse error as a Problem: the element it names, what it means, never its English."""
    text = str(exc.args[0]) if getattr(exc, "args", None) else ""
    words = "该元素的设置不完整或无法识别; 请检查属性面板中的设置, 或删除后重新绘制"
    for pattern, meaning in _SPIFF_MESSAGES:
        found = re.search(pattern, text)
        if found:
            words = meaning.format(*found.groups())
            break
    element_id = getattr(exc, "id", "") or ""
    node = elements.get(element_id)
    if node is not None:
        return Problem(element_id, f"{label(node)}: {words}", (node.get("name") or "").strip())
    tag = local(getattr(exc, "tag", "") or "")
    where = KINDS.get(tag, "")
    return Problem(element_id, f"{where}{'(' + element_id + ')' if element_id else ''}{': ' if where or element_id else ''}"
                               f"{words}")


def all_specs(spec, subprocess_specs) -> list:
    """The process's task specs and those of every process it calls."""
    found = list(spec.task_specs.values())
    for sub in subprocess_specs.values():
        found += list(sub.task_specs.values())
    return found


def adjust(task_specs, elements: dict) -> None:
    """Make parsed specs run as Guichet reads the diagram (applied at deploy and whenever a stored version is parsed)."""
    for ts in task_specs:
        if isinstance(ts, LoopTask):
            _hear_children(ts)
        definition = getattr(ts, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and isinstance(definition.expression, str):
            definition.expression = timer_source(definition.expression)
        if getattr(ts, "manual", False) and not getattr(ts, "lane", None):
            node = elements.get(ts.bpmn_id)
            groups = node.get(f"{CAMUNDA}candidateGroups") if node is not None else None
            if groups and "," not in groups and "${" not in groups:
                ts.lane = groups.strip()  # Camunda's candidate group is what a lane is here: the queue


def _hear_children(loop) -> None:
    """A multi-instance (or loop) task learns that a child finished through its child spec's completed event, which
    SpiffWorkflow connects only when it creates a child: a state restored on a spec parsed afterwards (another
    process, a restart) would never merge its children and stop there. Connect it when the spec is parsed."""
    child = loop._wf_spec.task_specs.get(loop.task_spec)
    if child is not None and not child.completed_event.is_connected(loop.merge_child):
        child.completed_event.connect(loop.merge_child)


def check(spec, subprocess_specs, elements: dict, *, operations: set) -> list[Problem]:
    """What this product needs of the parsed process beyond what SpiffWorkflow checks."""
    problems: list[Problem] = []
    specs = spec.task_specs.values()
    if not any(type(s).__name__ == "StartEvent" for s in specs):
        problems.append(Problem(spec.name, f"流程({spec.name})缺少开始事件; 请添加一个开始事件"))
    if not _end_reachable(spec):
        problems.append(Problem(spec.name, f"流程({spec.name})从开始事件无法到达任何结束事件; 请把流程连到一个结束事件"))
    for ts in all_specs(spec, subprocess_specs):
        node = elements.get(ts.bpmn_id)
        if node is None:
            continue
        where = label(node)
        name = (node.get("name") or "").strip()
        if getattr(ts, "manual", False) and not ts.lane:
            kind = local(node.tag)
            hint = ("子流程里的泳道不起作用, 请改用调用活动, 或把任务移出子流程"
                    if local(node.getparent().tag) == "subProcess" else "请把它拖入一个部门泳道")
            what = "等待人员办理的任务" if kind != "userTask" else "用户任务"
            problems.append(Problem(ts.bpmn_id, f"{where}: {what}必须位于一个泳道(部门/角色)内, 否则没有人能签收; {hint}",
                                    name))
        if local(node.tag) == "userTask":  # its declared decisions against the conditions after it
            problems += [Problem(ts.bpmn_id, f"{where}: {message}", name) for message in decisions.problems(ts)]
        if isinstance(ts, ServiceTask) and ts.operation_name and ts.operation_name not in operations:
            known = "、".join(sorted(operations)) or "无"
            problems.append(Problem(ts.bpmn_id, f"{where}: 未注册的服务操作 {ts.operation_name}; 可用: {known}", name))
        if isinstance(ts, CatchingEvent) and isinstance(ts.event_definition, TimerEventDefinition) \
                and not isinstance(ts.event_definition.expression, str):
            problems.append(Problem(ts.bpmn_id, f"{where}: 定时器没有设置时间", name))
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
