"""Checks on the diagram's XML itself, before SpiffWorkflow parses it: pools, nesting, call cycles, element kinds,
lanes and what Camunda Modeler writes. Each finds every problem it can, so one answer lists them all."""
from __future__ import annotations

from .problems import BPMN, CAMUNDA, SPIFF, Problem, label, local, on

MAX_DEPTH = 40  # nesting of XML elements; a drawn diagram has about ten

# Kinds Guichet does not run, and what to use instead.
UNSUPPORTED = {
    "sendTask": "Guichet 不向外发送消息; 请改用服务任务并选择已注册的服务操作",
    "receiveTask": "Guichet 不接收外部消息, 流程会一直等待; 请改用用户任务 (由部门办理) 或定时器",
    "businessRuleTask": "Guichet 不运行决策表 (DMN); 请改用排他网关并在连线上写条件",
    "complexGateway": "Guichet 不支持复杂网关; 请改用排他网关或并行网关",
    "eventBasedGateway": "Guichet 不接收外部事件, 事件网关会一直等待; 请改用排他网关, 或用边界定时器表示时限",
    "transaction": "Guichet 不支持事务子流程; 请改用普通子流程或调用活动",
    "adHocSubProcess": "Guichet 不支持自由子流程; 请改用普通子流程",
}
# Catch events that wait for something nothing in Guichet sends.
WAITS_FOREVER = {
    "messageEventDefinition": "消息", "signalEventDefinition": "信号", "conditionalEventDefinition": "条件",
    "linkEventDefinition": "链接",
}
PERSON_TASKS = ("userTask", "manualTask", "task")
ACTIVITIES = ("serviceTask", "sendTask", "businessRuleTask", "scriptTask", "userTask", "task", "manualTask",
              "receiveTask", "callActivity", "subProcess")


def executable_processes(root) -> tuple[list, list[Problem]]:
    """The executable processes of the document; a problem when there is not exactly one, naming the pools."""
    processes = list(root.iter(f"{BPMN}process"))
    pools = {p.get("processRef"): p for p in root.iter(f"{BPMN}participant")}
    executable = [p for p in processes if p.get("isExecutable", "true") == "true"]
    if len(executable) == 1:
        return executable, []

    def named(process):
        pool = pools.get(process.get("id"))
        name = (pool.get("name") if pool is not None else None) or process.get("name") or ""
        return f"“{name}”({process.get('id')})" if name else f"({process.get('id')})"

    if not processes:
        return [], [Problem("", "文件里没有流程 (bpmn:process); 请用建模器绘制后导出 BPMN 2.0 文件")]
    listing = "、".join(named(p) for p in processes)
    if not executable:
        return [], [Problem("", f"一个文件须恰好包含一个可执行流程, 现有 0 个; 文件里的池/流程: {listing}; "
                                "请在属性面板中把要运行的那一个标为“可执行”(isExecutable)")]
    listing = "、".join(named(p) for p in executable)
    return executable, [Problem(executable[1].get("id") or "",
                                f"一个文件须恰好包含一个可执行流程, 现有 {len(executable)} 个: {listing}; "
                                "请只保留一个为“可执行”(isExecutable), 其余取消勾选或另存为单独的文件")]


def too_deep(root) -> list[Problem]:
    """Refuse absurd nesting before any recursive walk (SpiffWorkflow's parser recurses per level)."""
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return [Problem("", f"元素嵌套超过 {MAX_DEPTH} 层 (如子流程套子流程); 请把内层拆成调用活动或单独的流程")]
        stack.extend((child, depth + 1) for child in node)
    return []


def call_cycles(root, key: str) -> list[Problem]:
    """A process that calls itself (directly or through others) would nest without end: refused on the call."""
    processes = {p.get("id"): p for p in root.iter(f"{BPMN}process")}
    calls = {pid: [c for c in p.iter(f"{BPMN}callActivity")] for pid, p in processes.items()}
    problems, reported = [], set()

    def walk(pid, path):
        for call in calls.get(pid, []):
            target = call.get("calledElement")
            if target in path:
                if call.get("id") not in reported:
                    reported.add(call.get("id"))
                    loop = " → ".join(path[path.index(target):] + [target])
                    problems.append(on(call, f"调用流程 {target} 会形成循环调用 ({loop}), 运行时将无限嵌套; "
                                             "请删除该调用, 或改用连线回到前面的环节"))
            elif target in processes:
                walk(target, path + [target])

    walk(key, [key])
    return problems


def reachable_processes(root, key: str) -> list:
    """The executable process and every process of the document it calls."""
    processes = {p.get("id"): p for p in root.iter(f"{BPMN}process")}
    found, todo = [], [key]
    while todo:
        pid = todo.pop()
        if pid in found or pid not in processes:
            continue
        found.append(pid)
        todo.extend(c.get("calledElement") for c in processes[pid].iter(f"{BPMN}callActivity"))
    return [processes[p] for p in found]


MAX_OUTGOING = 50  # flows leaving one element; a wider fan-out costs seconds in every step that passes it


def element_kinds(process, operations) -> list[Problem]:
    """Elements Guichet does not run, Camunda attributes that would be silently ignored, absurd fan-outs."""
    problems = []
    outgoing: dict[str, int] = {}
    for flow in process.iter(f"{BPMN}sequenceFlow"):
        outgoing[flow.get("sourceRef")] = outgoing.get(flow.get("sourceRef"), 0) + 1
    nodes = {n.get("id"): n for n in process.iter() if isinstance(n.tag, str) and n.get("id")}
    for source, count in outgoing.items():
        if count > MAX_OUTGOING and source in nodes:
            problems.append(on(nodes[source], f"有 {count} 条出口连线, 上限 {MAX_OUTGOING} 条; 请合并分支"))
    for node in process.iter():
        kind = local(node.tag)
        if kind in UNSUPPORTED:
            problems.append(on(node, f"不支持该类元素。{UNSUPPORTED[kind]}"))
        if kind in ("intermediateCatchEvent", "boundaryEvent", "startEvent"):
            for child in node:
                what = WAITS_FOREVER.get(local(child.tag))
                if what and not (kind == "startEvent" and node.getparent() is process):
                    problems.append(on(node, f"{what}事件在 Guichet 中等不到触发, 流程会一直停在这里; "
                                             "请改用定时器事件或用户任务"))
        if kind == "startEvent" and node.getparent() is process and any(
                local(c.tag) in WAITS_FOREVER for c in node):
            problems.append(on(node, "流程由业务单提交启动, 开始事件不能等待消息或信号; 请改为普通开始事件"))
        if kind in PERSON_TASKS or kind in ACTIVITIES:
            problems += _camunda_attributes(node, operations)
        if kind == "scriptTask":
            problems += _script_task(node)
        if kind == "serviceTask" and node.find(f"{BPMN}extensionElements/{SPIFF}serviceTaskOperator") is None \
                and not any(node.get(f"{CAMUNDA}{a}") for a in ("class", "delegateExpression", "expression", "type")):
            problems.append(on(node, "服务任务没有选择服务操作; 请在属性面板中选择一个已注册的操作"
                                     f" ({'、'.join(sorted(operations)) or '无'})"))
    return problems


def _camunda_attributes(node, operations) -> list[Problem]:
    problems = []
    if node.get(f"{CAMUNDA}assignee") or node.get(f"{CAMUNDA}candidateUsers"):
        problems.append(on(node, "Guichet 不把任务直接指定给个人 (camunda:assignee / candidateUsers); "
                                 "请把任务放入部门泳道, 由部门人员签收或由负责人指派"))
    groups = node.get(f"{CAMUNDA}candidateGroups")
    if groups and len([g for g in groups.split(",") if g.strip()]) > 1:
        problems.append(on(node, f"候选组只能有一个部门或角色 (现为 {groups}); 请只保留一个, 或放入对应的泳道"))
    if groups and "${" in groups:
        problems.append(on(node, "候选组不能是表达式 (${…}); 请写部门或角色的名称, 或放入对应的泳道"))
    ops = "、".join(sorted(operations)) or "无"
    for attribute, what in (("class", "Java 类 (camunda:class)"), ("delegateExpression", "委托表达式"),
                            ("expression", "表达式 (camunda:expression)")):
        if node.get(f"{CAMUNDA}{attribute}"):
            problems.append(on(node, f"Guichet 不运行{what}; 请改用已注册的服务操作 ({ops})"))
    if node.get(f"{CAMUNDA}type") == "external":
        problems.append(on(node, f"Guichet 没有外部任务 (external task) 的工作者; 请改用已注册的服务操作 ({ops})"))
    return problems


def _script_task(node) -> list[Problem]:
    language = (node.get("scriptFormat") or "python").strip().lower()
    if language not in ("python", "text/python", "text/x-python", ""):
        return [on(node, f"脚本语言 {language} 不受支持; 请用 Guichet 的表达式语言写赋值脚本, 如 total = amount * 2")]
    if node.get(f"{CAMUNDA}resource"):
        return [on(node, "脚本须写在图中, 不能引用外部文件 (camunda:resource)")]
    script = node.find(f"{BPMN}script")
    if script is None or not (script.text or "").strip():
        return [on(node, "脚本任务没有脚本; 请在属性面板中填写脚本, 或删除该任务")]
    return []


def lanes_of(process) -> dict[str, str]:
    """{flow node id: lane name} as the process's lanes (nested lanes too) declare them."""
    found = {}
    for lane in process.iter(f"{BPMN}lane"):
        for ref in lane.findall(f"{BPMN}flowNodeRef"):
            if ref.text:
                found[ref.text.strip()] = (lane.get("name") or "").strip()
    return found


def by_id(root) -> dict:
    """Every element of the document that has an id."""
    return {node.get("id"): node for node in root.iter() if isinstance(node.tag, str) and node.get("id")}


__all__ = ["executable_processes", "too_deep", "call_cycles", "reachable_processes", "element_kinds", "lanes_of",
           "by_id", "label"]
