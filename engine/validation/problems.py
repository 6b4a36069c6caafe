"""What a refused diagram is told: each problem on its element (id and name), in words a manager acts on."""
from __future__ import annotations

from dataclasses import dataclass

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"

# What each kind of element is called in the modeler's Chinese palette.
KINDS = {
    "process": "流程", "participant": "池", "lane": "泳道", "startEvent": "开始事件", "endEvent": "结束事件",
    "userTask": "用户任务", "task": "任务", "manualTask": "手工任务", "scriptTask": "脚本任务",
    "serviceTask": "服务任务", "sendTask": "发送任务", "receiveTask": "接收任务", "businessRuleTask": "业务规则任务",
    "callActivity": "调用活动", "subProcess": "子流程", "transaction": "事务子流程", "adHocSubProcess": "自由子流程",
    "exclusiveGateway": "排他网关", "parallelGateway": "并行网关", "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关", "complexGateway": "复杂网关", "boundaryEvent": "边界事件",
    "intermediateCatchEvent": "中间捕获事件", "intermediateThrowEvent": "中间抛出事件", "sequenceFlow": "连线",
    "dataObjectReference": "数据对象", "dataStoreReference": "数据存储",
}


@dataclass
class Problem:
    """One reason a diagram is refused, on the element it concerns."""

    element_id: str
    message: str
    element_name: str = ""


class DeploymentError(ValueError):
    """The diagram was refused; `problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message if p.element_id in p.message or (p.element_name and p.element_name in
                                                                               p.message)
                                   else f"{p.element_id}: {p.message}" for p in problems))
        self.problems = problems


def local(tag) -> str:
    """An element's tag without its namespace (userTask)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def label(node) -> str:
    """How a message names an element, as the modeler shows it: 用户任务“信贷部办理”; by its id only when it has no
    name: 用户任务(hop_credit). The id travels beside the message (Problem.element_id) to mark the element."""
    kind = KINDS.get(local(node.tag), local(node.tag))
    name = (node.get("name") or "").strip()
    ident = node.get("id") or ""
    if name:
        return f"{kind}“{name}”"
    return f"{kind}({ident})" if ident else kind


def on(node, message: str) -> Problem:
    """A problem on an XML element, its message starting with the element's label."""
    return Problem(node.get("id") or "", f"{label(node)}: {message}", (node.get("name") or "").strip())
